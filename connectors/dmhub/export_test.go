package dmhub

import (
	"errors"

	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

func isTokenErr(err error) bool { return errors.Is(err, httpapi.ErrTokenRejected) }
