// Command loyaltybridge syncs Chinese CRM/loyalty vendors into ClickHouse
// and pushes outbound writes back to them. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loyaltybridge:", err)
		os.Exit(exitCode(err))
	}
}
