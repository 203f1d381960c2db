#!/usr/bin/env bash
# The library's layers point one way (docs/architecture.md): a file in a folder may include only
# its own folder and the folders of lower layers. Prints every include that breaks the rule and
# exits 1 when there is one. Run by the test suite (ctest -R Layers).
#
#   cli -> serve -> engine, train, conformal -> models, metrics, data -> io -> nn -> ops -> core
set -euo pipefail
root="${1:-$(dirname "$0")/..}"
declare -A rank=([core]=0 [ops]=1 [nn]=2 [io]=3 [data]=4 [metrics]=4 [models]=4
                 [engine]=5 [train]=5 [conformal]=5
                 [serve]=6)
broken=0
while IFS= read -r file; do
  folder=$(basename "$(dirname "$file")")
  if [[ -z "${rank[$folder]:-}" ]]; then
    echo "$file: folder '$folder' has no layer in scripts/check_layers.sh"
    broken=1
    continue
  fi
  while IFS= read -r target; do
    [[ "$target" == "$folder" ]] && continue
    if [[ -z "${rank[$target]:-}" || ${rank[$target]} -ge ${rank[$folder]} ]]; then
      echo "$file includes srkit/$target/: $folder may include only lower layers"
      broken=1
    fi
  done < <(grep -o '#include "srkit/[a-z_]*/' "$file" | sed 's|#include "srkit/||; s|/$||' | sort -u)
done < <(find "$root/src/srkit" -name '*.h' -o -name '*.cpp' | sort)
if [[ $broken -eq 0 ]]; then echo "layers: every include points down"; fi
exit $broken
