package outbound

import (
	"errors"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

func TestCheckLine(t *testing.T) {
	t.Parallel()
	deep := func(n int) string { return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}` }
	tests := []struct {
		name, line, field, cause string // cause "" = accepted
	}{
		{"plain", `{"orderNo":"A-1","dealLines":[{"lineId":"x","qty":1}]}`, "", ""},
		{"nested keys may repeat across objects", `{"l":[{"a":1},{"a":2}],"a":3}`, "", ""},
		{"escapes and quotes in strings", `{"a":"x\"{[\\","b":"\u00e9 é"}`, "", ""},
		{"depth at the bound", deep(MaxDepth), "", ""},
		{"too deep", deep(MaxDepth + 1), "a", "nested deeper than 32 levels"},
		{"too deep, invalid JSON", strings.Repeat("[", 100000), "", "nested deeper than 32 levels"},
		{"invalid UTF-8 in a value", "{\"store\":\"s\xff1\"}", "store", "invalid UTF-8 at byte 11"},
		{"invalid UTF-8 in a key", "{\"ok\":1,\"\xfe\":1}", "ok", "invalid UTF-8 at byte 9"},
		{"invalid UTF-8 after a backslash (FuzzCheckLine)", "{\"a\":\"\\\xbc\"}", "a", "invalid UTF-8 at byte 7"},
		{"invalid UTF-8 outside strings", "{\"a\":1}\xff", "a", "invalid UTF-8 at byte 7"},
		{"a key given twice", `{"orderNo":"A","amount":1,"orderNo":"B"}`, "orderNo", "given twice"},
		{"a key given twice, escaped", `{"orderNo":"A","\u006frderNo":"B"}`, "orderNo", "given twice"},
		{"a long string", `{"remark":"` + strings.Repeat("x", MaxFieldBytes+1) + `"}`, "remark", "longer than 65536 bytes"},
		{"a string at the bound", `{"remark":"` + strings.Repeat("x", MaxFieldBytes) + `"}`, "", ""},
		{"a long line", `{"a":"` + strings.Repeat("x", MaxLineBytes) + `"}`, "", "longer than 1048576 bytes"},
		{"unterminated string", `{"a":"xyz`, "", ""},
		{"stray closers", `]]]}}}`, "", ""},
		{"unterminated key (FuzzIntakeLine)", `{"`, "", ""},
		{"unterminated escaped key", `{"a\\`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckLine([]byte(tt.line))
			if tt.cause == "" {
				if err != nil {
					t.Fatalf("CheckLine: %v, want nil", err)
				}
				return
			}
			var fe *connectors.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Cause, tt.cause) {
				t.Fatalf("CheckLine: %#v, want field %q and a cause with %q", err, tt.field, tt.cause)
			}
		})
	}
}
