#!/usr/bin/env bash
# Prepares a fresh machine for millrace's build and tests: system packages, npm packages,
# and (for the local target) the cached host image and component artifacts.
# Safe to run again: every step checks before it changes anything.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*" >&2; }

say "npm packages"
npm ci --no-audit --no-fund

say "build"
npm run build
