#!/usr/bin/env bash
# Prepares a machine for millrace's build and tests, from nothing: system packages, npm
# packages, the build, Python test dependencies, and (for the local target) the cached host
# image and component bundles. Safe to run again: every step checks before it changes anything,
# and everything downloaded is cached (~/.millrace/cache, ~/.m2, pip's cache) for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's heading says how long the one before it took: CI's budget is read from its log.
step_started=$SECONDS
say() { printf '(%ss)\n\n== %s\n' "$((SECONDS - step_started))" "$*" >&2; step_started=$SECONDS; }
CACHE="${MILLRACE_CACHE:-$HOME/.millrace/cache}"

# A Python virtualenv for requirement files, built once per set of pins (and Python version) in the
# cache, and linked at $1 in this checkout: a fresh clone reuses it instead of installing ~1 GB
# again. $1 may be an old venv directory of this checkout's own making; it is replaced by the link.
venv_for() {
  local link=$1; shift
  local sum dir
  sum=$( (python3 --version; cat "$@") | sha256sum | cut -c1-16)
  dir="$CACHE/python/$(basename "$link")-$sum"
  mkdir -p "$CACHE/python"
  (
    flock 9
    if [ ! -f "$dir/.millrace-complete" ]; then
      rm -rf "$dir"
      python3 -m venv "$dir"
      "$dir/bin/pip" install -q --disable-pip-version-check "${@/#/-r}"
      touch "$dir/.millrace-complete"
      echo "installed into $dir" >&2
    else
      echo "up to date: $dir" >&2
    fi
  ) 9>"$dir.lock"
  if [ "$(readlink "$link" 2>/dev/null)" != "$dir" ]; then
    rm -rf "$link"
    ln -s "$dir" "$link"
  fi
}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# What the local target and the tests need on the operator's machine.
# util-linux and e2fsprogs: the data volume test (losetup, lsblk, blkid, mkfs.ext4, mount).
# gcc and libc6-dev: the local nodes' source-address library (targets/local/source-address.ts).
# g++, make, libssl-dev and zlib1g-dev: librdkafka, the native part of kafka.client: librdkafka (below).
# chromium: the tests open `millrace report`'s HTML in a real headless browser (puppeteer-core drives it).
APT_PACKAGES=(debootstrap systemd-container openssh-client openssl maven openjdk-17-jdk-headless python3-venv util-linux e2fsprogs tcpdump gcc libc6-dev nftables g++ make libssl-dev zlib1g-dev chromium)

say "system packages"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A JDK or Maven installed outside apt (e.g. a second Temurin, or SDKMAN) is good enough.
if command -v mvn >/dev/null 2>&1; then missing=("${missing[@]/maven}"); fi
if command -v javac >/dev/null 2>&1; then missing=("${missing[@]/openjdk-17-jdk-headless}"); fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -v '^$' || true)
if [ "${#missing[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}" >&2
else
  echo "all present" >&2
fi

say "npm packages"
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.millrace-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund
  echo "$lock_sum" > node_modules/.millrace-lock-sha256
else
  echo "node_modules matches package-lock.json" >&2
fi

say "build"
npm run build --silent

say "librdkafka (@confluentinc/kafka-javascript's native part, for kafka.client: librdkafka), built once per version in the cache"
# npm may not run its install script (package.json's allowScripts): it fetches a prebuilt binary
# from GitHub, or builds librdkafka with OpenSSL, zlib, zstd and curl it downloads from their own
# sites. Built here instead, against this machine's OpenSSL and zlib, and kept for the next clone.
rdk=node_modules/@confluentinc/kafka-javascript
if [ ! -f "$rdk/package.json" ]; then
  echo "MISSING: $rdk (an optional dependency npm left out); kafka.client: librdkafka is unavailable" >&2
elif node -e "require('@confluentinc/kafka-javascript')" 2>/dev/null; then
  echo "loads: $(node -p "require('@confluentinc/kafka-javascript').librdkafkaVersion")" >&2
else
  key="$(node -p "require('./$rdk/package.json').version")-node$(node -p process.versions.modules)-$(uname -m)"
  built="$CACHE/kafka-javascript/$key"
  mkdir -p "$CACHE/kafka-javascript"
  (
    flock 9
    if [ ! -f "$built/.millrace-complete" ]; then
      # Node's own headers where they match this node (Debian's nodejs), else node-gyp fetches them.
      if grep -qx "#define NODE_MAJOR_VERSION $(node -p 'process.versions.node.split(".")[0]')" /usr/include/node/node_version.h 2>/dev/null; then export npm_config_nodedir=/usr; fi
      (cd "$rdk" && CKJS_LINKING=dynamic ../../.bin/node-pre-gyp install --build-from-source >"$CACHE/kafka-javascript/$key.log" 2>&1) \
        || { echo "could not build it; the last lines of $CACHE/kafka-javascript/$key.log:" >&2; tail -20 "$CACHE/kafka-javascript/$key.log" >&2; exit 1; }
      rm -rf "$built" && mkdir -p "$built/Release" "$built/deps"
      cp "$rdk/build/Release/confluent-kafka-javascript.node" "$built/Release/"
      cp -L "$rdk/build/deps/librdkafka.so.1" "$rdk/build/deps/librdkafka++.so.1" "$built/deps/"
      touch "$built/.millrace-complete"
      echo "built into $built" >&2
    fi
  ) 9>"$built.lock"
  rm -rf "$rdk/build" && mkdir -p "$rdk/build" && cp -r "$built/Release" "$built/deps" "$rdk/build/"
  echo "copied from $built" >&2
  node -e "require('@confluentinc/kafka-javascript')" && echo "loads: $(node -p "require('@confluentinc/kafka-javascript').librdkafkaVersion")" >&2
fi

say "python test environment (pytest and pyspark for the jobs' pure transforms; moto, the AWS API emulator)"
venv_for .venv spark-jobs/requirements-test.txt tests/integration/requirements.txt

say "checkov (static analysis of the synthesized AWS stack), in a venv of its own: its pins clash with .venv's"
venv_for .venv-checkov stacks/checkov-requirements.txt

say "terraform and the AWS provider (the aws target; its integration test applies the stack to the emulator)"
# Neither can be installed from here: no registry reachable from this kind of machine serves them.
# Report what is missing; the aws emulator test then fails, naming it.
if command -v terraform >/dev/null 2>&1 || command -v tofu >/dev/null 2>&1; then
  # Read whole, then cut: `| head -1` closed the pipe under a version that still wrote, and the
  # SIGPIPE'd terraform fell through to `tofu` (absent: 127), which pipefail made setup's exit.
  tf_version=$( (command -v terraform >/dev/null 2>&1 && terraform version || tofu version) 2>/dev/null || true)
  echo "${tf_version%%$'\n'*}" >&2
else
  echo "MISSING: terraform or tofu on PATH (https://developer.hashicorp.com/terraform/install, https://opentofu.org/docs/intro/install/)" >&2
fi
mirror="${MILLRACE_TF_PROVIDER_MIRROR:-}"
if [ -z "$mirror" ]; then
  for d in "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins" /usr/local/share/terraform/plugins /usr/share/terraform/plugins \
           $(find / -maxdepth 3 -type d -name registry.terraform.io 2>/dev/null | xargs -r -n1 dirname); do
    if [ -d "$d/registry.terraform.io/hashicorp/aws" ]; then mirror="$d"; break; fi
  done
fi
if [ -n "$mirror" ] && [ -d "$mirror/registry.terraform.io/hashicorp/aws" ]; then
  echo "AWS provider mirror: $mirror ($(ls "$mirror/registry.terraform.io/hashicorp/aws" | tr '\n' ' '))" >&2
else
  echo "MISSING: a Terraform provider mirror holding registry.terraform.io/hashicorp/aws; set MILLRACE_TF_PROVIDER_MIRROR to it" >&2
fi

say "artifacts and host image for the local target (cached in ${MILLRACE_CACHE:-~/.millrace/cache})"
# Builds the Debian host image once, and resolves Kafka and Hadoop from Maven Central and Spark
# from PyPI; each is checksum-verified and kept, so later runs reuse them.
node dist/cli/main.js cache warm -c examples/local.yaml
say "ready"
