#!/usr/bin/env bash
# Installs what the tests need on a brand-new machine: moto_server (S3 + SQS emulator), cfn-lint (the
# deploy/ templates), aws-cli v1 (validate is compared with `aws cloudtrail validate-logs`) and, for
# the HTML report test, Debian's chromium. Each is skipped when present.
set -euo pipefail
if ! command -v moto_server >/dev/null 2>&1; then
  echo "tools: installing moto[server]"
  python3 -m pip install --quiet 'moto[server]' || { echo "tools: could not install moto_server" >&2; [ -z "${CI:-}" ] || exit 1; }
fi
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "tools: installing cfn-lint"
  python3 -m pip install --quiet cfn-lint \
    || { echo "tools: could not install cfn-lint (pip install cfn-lint); deploy template tests need it" >&2; [ -z "${CI:-}" ] || exit 1; }
fi
if ! command -v aws >/dev/null 2>&1; then
  echo "tools: installing awscli"
  python3 -m pip install --quiet awscli \
    || { echo "tools: could not install aws-cli (pip install awscli); validate's aws-cli comparison needs it" >&2; [ -z "${CI:-}" ] || exit 1; }
fi
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "tools: installing chromium"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || { echo "tools: could not install chromium" >&2; [ -z "${CI:-}" ] || exit 1; }
fi
