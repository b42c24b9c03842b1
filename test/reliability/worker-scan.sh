#!/bin/sh
# The worker looking for secrets: every /proc/*/environ and /proc/*/cmdline and every file under the
# given directories that its uid can read. Prints "<where>\t<sha256 of what it found>" for each fake
# token, fake Vault token or CLAUDE_CREDENTIALS_B64 value: hashes, so the scan's own output leaks nothing.
# Usage: worker-scan.sh REPORT DIR...
report=$1
shift
pattern='sk-ant-o[a-z]t01-FAKE-TEST-[0-9a-f]+|hvs\.FAKE-ROOT-[0-9a-f]+|CLAUDE_CREDENTIALS_B64=[A-Za-z0-9+/=]+'
{
  echo "pid $$ ppid $PPID uid $(id -u) gid $(id -g) groups $(id -G)"
  {
    ls -d /proc/[0-9]*/environ /proc/[0-9]*/cmdline
    find "$@" -xdev -type f -size -2048k -readable 2>/dev/null
  } | tr '\n' '\0' | xargs -0 -r grep -aoHZE "$pattern" 2>/dev/null | tr '\0' '\t' | sort -u | while IFS="$(printf '\t')" read -r where match; do
    printf '%s\t%s\n' "$where" "$(printf '%s' "$match" | sha256sum | cut -d' ' -f1)"
  done
} > "$report.tmp"
mv "$report.tmp" "$report"
