package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newMigrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the ClickHouse database and every table (safe to repeat)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			wh, err := openWarehouse(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			applied, err := wh.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "database %s is up to date\n", wh.Database())
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "database %s: applied %s\n", wh.Database(), strings.Join(applied, ", "))
			}
			return nil
		},
	}
}
