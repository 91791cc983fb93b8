// Package deploy ships the operational scripts of loyaltybridge inside the
// binary, so `loyaltybridge demo` can start the services on a machine that
// has only the binary. The scripts themselves live in deploy/dev/.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed all:dev
var devFS embed.FS

// Addrs are the loopback addresses of the services started by
// dev/services.sh.
type Addrs struct {
	Redis      string
	ClickHouse string
}

// ServicesUp runs `services.sh up` (install from Debian when missing,
// start on loopback with data under dataDir, wait until they answer; a
// no-op when they already run) and returns their addresses. The script's
// progress goes to log.
func ServicesUp(ctx context.Context, dataDir string, log io.Writer) (Addrs, error) {
	dir, err := os.MkdirTemp("", "loyaltybridge-deploy-")
	if err != nil {
		return Addrs{}, err
	}
	defer os.RemoveAll(dir)
	if err := extract(dir); err != nil {
		return Addrs{}, err
	}
	script := filepath.Join(dir, "dev", "services.sh")
	run := func(arg string, stdout io.Writer) error {
		cmd := exec.CommandContext(ctx, "bash", script, arg)
		cmd.Env = append(os.Environ(), "LOYALTYBRIDGE_DATA="+dataDir)
		cmd.Stdout, cmd.Stderr = stdout, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("deploy/dev/services.sh %s: %w", arg, err)
		}
		return nil
	}
	if err := run("up", log); err != nil {
		return Addrs{}, err
	}
	var env bytes.Buffer
	if err := run("env", &env); err != nil {
		return Addrs{}, err
	}
	var a Addrs
	sc := bufio.NewScanner(&env)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "LOYALTYBRIDGE_TEST_REDIS":
			a.Redis = v
		case "LOYALTYBRIDGE_TEST_CLICKHOUSE":
			a.ClickHouse = v
		}
	}
	if a.Redis == "" || a.ClickHouse == "" {
		return a, fmt.Errorf("deploy/dev/services.sh env printed no service addresses:\n%s", env.String())
	}
	return a, nil
}

func extract(dir string) error {
	return fs.WalkDir(devFS, "dev", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, p)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := devFS.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o755)
	})
}
