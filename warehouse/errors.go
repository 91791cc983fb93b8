package warehouse

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// ErrorClass says what a caller should do about a ClickHouse error. It
// mirrors the connectors' classes (warehouse cannot import connectors);
// jobs/retry.go maps it onto the queue.
type ErrorClass int

// The ClickHouse error classes.
const (
	// ErrorUnknown: not a ClickHouse or network error (the caller's own
	// class applies).
	ErrorUnknown ErrorClass = iota
	// ErrorRetryable: the server is unreachable, busy or timed out, or the
	// connection broke: retrying later can succeed.
	ErrorRetryable
	// ErrorPermanent: bad data or a bad statement (parse, type and column
	// errors, a value the client cannot encode): retrying cannot help.
	ErrorPermanent
)

func (c ErrorClass) String() string {
	switch c {
	case ErrorRetryable:
		return "retryable"
	case ErrorPermanent:
		return "permanent"
	}
	return "unknown"
}

// permanentCodes are ClickHouse exception codes that no retry can fix:
// the data or the statement is wrong (ErrorCodes.cpp names).
var permanentCodes = map[int32]string{
	6:   "CANNOT_PARSE_TEXT",
	8:   "THERE_IS_NO_COLUMN",
	10:  "NOT_FOUND_COLUMN_IN_BLOCK",
	16:  "NO_SUCH_COLUMN_IN_TABLE",
	20:  "NUMBER_OF_COLUMNS_DOESNT_MATCH",
	26:  "CANNOT_PARSE_QUOTED_STRING",
	27:  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
	38:  "CANNOT_PARSE_DATE",
	41:  "CANNOT_PARSE_DATETIME",
	43:  "ILLEGAL_TYPE_OF_ARGUMENT",
	44:  "ILLEGAL_COLUMN",
	46:  "UNKNOWN_FUNCTION",
	47:  "UNKNOWN_IDENTIFIER",
	53:  "TYPE_MISMATCH",
	60:  "UNKNOWN_TABLE",
	62:  "SYNTAX_ERROR",
	69:  "ARGUMENT_OUT_OF_BOUND",
	70:  "CANNOT_CONVERT_TYPE",
	72:  "CANNOT_PARSE_NUMBER",
	81:  "UNKNOWN_DATABASE",
	117: "INCORRECT_DATA",
	192: "UNKNOWN_USER",
	193: "WRONG_PASSWORD",
	194: "REQUIRED_PASSWORD",
	195: "IP_ADDRESS_NOT_ALLOWED",
	497: "ACCESS_DENIED",
	516: "AUTHENTICATION_FAILED",
}

// ClassifyError classifies an error of this package or of the ClickHouse
// driver, by type and code (errors.As), never by its text:
//   - a *clickhouse.Exception with a code of permanentCodes, or a value the
//     driver cannot encode into a column: ErrorPermanent;
//   - any other *clickhouse.Exception (timeouts 159/209, too many queries
//     202, memory 241, too many parts 252, network 210, ...), a network
//     error, a refused or reset connection, a cut stream, a deadline, the
//     pool's acquire timeout or a closed connection: ErrorRetryable;
//   - anything else: ErrorUnknown.
func ClassifyError(err error) ErrorClass {
	if err == nil {
		return ErrorUnknown
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		if _, bad := permanentCodes[ex.Code]; bad {
			return ErrorPermanent
		}
		return ErrorRetryable
	}
	var (
		conv *column.ColumnConverterError
		col  *column.Error
		unsu *column.UnsupportedColumnTypeError
		ne   net.Error
	)
	switch {
	case errors.As(err, &conv), errors.As(err, &col), errors.As(err, &unsu), errors.Is(err, clickhouse.ErrBatchInvalid):
		return ErrorPermanent
	case errors.As(err, &ne), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, clickhouse.ErrAcquireConnTimeout),
		errors.Is(err, clickhouse.ErrConnectionClosed):
		return ErrorRetryable
	}
	return ErrorUnknown
}
