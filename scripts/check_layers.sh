#!/usr/bin/env bash
# The library's layers, lowest first. A folder of flowinone/ may include its own headers and those
# of the layers below it, never those above: so a change to a high layer (train/) cannot break a
# low one (solvers/), and the layers can be read, tested and reused bottom-up.
# Usage: scripts/check_layers.sh [SOURCE_ROOT]   (exit 1 listing each include that goes up)
# docs/architecture.md explains each layer.
set -euo pipefail
root=${1:-$(dirname "$0")/..}
layers=(core io fonts data paths couplings models flows solvers prompts viz generative train eval)

rank_of() {
  local i
  for i in "${!layers[@]}"; do
    [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
  done
  echo -1
}

[ -d "$root/flowinone" ] || { echo "error: $root/flowinone: no such folder" >&2; exit 2; }
violations=0
for dir in "$root"/flowinone/*/; do
  folder=$(basename "$dir")
  rank=$(rank_of "$folder")
  if [ "$rank" -lt 0 ]; then
    echo "flowinone/$folder/: a folder missing from the layer order (${layers[*]}): add it to scripts/check_layers.sh and docs/architecture.md"
    violations=$((violations + 1))
    continue
  fi
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    included=$(sed -E 's|.*#include "flowinone/([^/"]+)/.*|\1|' <<<"$rest")
    other=$(rank_of "$included")
    if [ "$other" -gt "$rank" ] || [ "$other" -lt 0 ]; then
      echo "${file#"$root"/}:$line includes flowinone/$included/: $folder (layer $rank) may not include $included (layer $other)"
      violations=$((violations + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"flowinone/[^/"]+/' "$dir"* /dev/null || true)
done
if [ "$violations" -gt 0 ]; then
  echo "$violations include(s) go up the layer order: ${layers[*]}"
  exit 1
fi
echo "layers ok: ${layers[*]}"
