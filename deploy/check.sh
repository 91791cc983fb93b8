#!/usr/bin/env bash
# Checks the deploy files with the tools that judge them, where available:
# systemd-analyze verify (units, against a freshly built binary), yamllint
# (manifests and compose), docker compose config / docker-compose config.
# A missing tool is reported as SKIPPED, never as passing.
set -euo pipefail
cd "$(dirname "$0")/.."

# the checkers come from Debian: install the missing ones (idempotent)
want=()
command -v yamllint >/dev/null || want+=(yamllint)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || want+=(docker-compose)
command -v systemd-analyze >/dev/null || want+=(systemd)
if ((${#want[@]})) && [[ $(id -u) -eq 0 ]]; then
	echo "check.sh: installing from Debian: ${want[*]}" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "${want[@]}" >&2 ||
		echo "check.sh: apt-get install ${want[*]} failed; the checks that need them are SKIPPED" >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

if command -v systemd-analyze >/dev/null; then
	go build -o "$tmp/loyaltybridge" ./cmd/loyaltybridge
	for u in deploy/systemd/*.service; do
		sed "s|/usr/local/bin/loyaltybridge|$tmp/loyaltybridge|" "$u" >"$tmp/$(basename "$u")"
	done
	if systemd-analyze verify "$tmp"/*.service; then echo "systemd-analyze verify: ok"; else status=1; fi
else
	echo "systemd-analyze: SKIPPED (not installed)"
fi

if command -v yamllint >/dev/null; then
	if yamllint -c deploy/.yamllint.yaml deploy/k8s deploy/docker-compose.yml deploy/compose; then echo "yamllint: ok"; else status=1; fi
else
	echo "yamllint: SKIPPED (apt-get install yamllint)"
fi

compose=()
if docker compose version >/dev/null 2>&1; then
	compose=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose=(docker-compose)
fi
if [ ${#compose[@]} -gt 0 ]; then
	cp -r deploy/. "$tmp/deploy"
	cp deploy/compose/secrets.env.example "$tmp/deploy/compose/secrets.env"
	if (cd "$tmp/deploy" && "${compose[@]}" -f docker-compose.yml config -q); then echo "${compose[*]} config: ok"; else status=1; fi
else
	echo "docker compose: SKIPPED (no compose client)"
fi
exit $status
