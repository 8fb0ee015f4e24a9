#!/usr/bin/env bash
# Production code stays in small rooms and narrow lines: no file over 1,000
# lines (split it, STYLE.md 9) and no line over 100 columns (.clang-format's
# ColumnLimit). Production is every C++ source, header and FlatBuffers schema
# under the folders below; tests/ and generated code (*_generated.h, anything
# in a build directory) are not. Columns are characters, so a UTF-8 "—" in a
# comment is one column.
#
# Known debt: lengths_known.txt beside this script lists files that were over
# the limits when this check came and are being reworked; each entry is a
# ceiling ("PATH lines N": at most N lines; "PATH columns N": at most N lines
# over 100 columns). Exceeding a ceiling fails, and so does an entry that is
# no longer needed or could be lowered: the list only shrinks. Delete it when
# it is empty.
#
#   check_lengths.sh SOURCE_DIR [KNOWN]  checks the tree; exit 1 naming each hit
#   check_lengths.sh --self-test         proves the check catches planted hits
set -euo pipefail

folders=(base consensus server client cli proto protocol bench)
lines_max=1000
columns_max=100

# Production files under $1, one per line, sorted.
production_files() {
  local root=$1 folder
  for folder in "${folders[@]}"; do
    [ -d "$root/$folder" ] || continue
    find "$root/$folder" \( -name build -o -name 'build-*' -o -name CMakeFiles \) -prune -o \
      -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cc' -o -name '*.fbs' \) \
      ! -name '*_generated.h' -print
  done | LC_ALL=C sort
}

# The ceiling the known list gives FILE for KIND (lines, columns), or nothing.
known_ceiling() {
  local known=$1 file=$2 kind=$3
  [ -f "$known" ] || return 0
  awk -v f="$file" -v k="$kind" '$1 == f && $2 == k { print $3 }' "$known"
}

check() {
  local root=$1 known=${2:-} hits=0 file name lines wide ceiling
  local -A seen=()
  local -a over
  while IFS= read -r file; do
    name=${file#"$root"/}
    lines=$(wc -l < "$file")
    ceiling=$(known_ceiling "$known" "$name" lines)
    if [ -n "$ceiling" ]; then
      seen["$name lines"]=1
      if [ "$lines" -gt "$ceiling" ]; then
        echo "tidy: $name has $lines lines, more than its known ceiling of $ceiling (lengths_known.txt)"
        hits=$((hits + 1))
      elif [ "$lines" -lt "$ceiling" ]; then
        echo "tidy: $name has $lines lines: lower or delete its entry in lengths_known.txt"
        hits=$((hits + 1))
      fi
    elif [ "$lines" -gt "$lines_max" ]; then
      echo "tidy: $name has $lines lines (at most $lines_max): split it into smaller rooms (STYLE.md 9)"
      hits=$((hits + 1))
    fi
    over=()
    while IFS= read -r hit; do
      over+=("tidy: $name:${hit%%:*} is $(printf '%s' "${hit#*:}" | LC_ALL=C.UTF-8 wc -m) columns (at most $columns_max)")
    done < <(LC_ALL=C.UTF-8 grep -nE "^.{$((columns_max + 1)),}" "$file" || true)
    wide=${#over[@]}
    ceiling=$(known_ceiling "$known" "$name" columns)
    if [ -n "$ceiling" ]; then
      seen["$name columns"]=1
      if [ "$wide" -gt "$ceiling" ]; then
        echo "tidy: $name has $wide lines over $columns_max columns, more than its known ceiling of $ceiling:"
        printf '%s\n' "${over[@]}"
        hits=$((hits + 1))
      elif [ "$wide" -lt "$ceiling" ]; then
        echo "tidy: $name has $wide lines over $columns_max columns: lower or delete its entry in lengths_known.txt"
        hits=$((hits + 1))
      fi
    elif [ "$wide" -gt 0 ]; then
      printf '%s\n' "${over[@]}"
      hits=$((hits + wide))
    fi
  done < <(production_files "$root")
  if [ -f "$known" ]; then
    while read -r file kind _; do
      case "$file" in ''|'#'*) continue ;; esac
      if [ -z "${seen["$file $kind"]:-}" ]; then
        echo "tidy: lengths_known.txt lists $file $kind, which is no longer over the limit or gone: delete the entry"
        hits=$((hits + 1))
      fi
    done < "$known"
  fi
  if [ "$hits" -gt 0 ]; then
    echo "tidy: $hits file(s) or line(s) over the limits in production code"
    return 1
  fi
  local debt=""
  [ -f "$known" ] && debt=" (known debt in $(basename "$known"): $(grep -cvE '^(#|$)' "$known") entries)"
  echo "tidy: every production file is within $lines_max lines of $columns_max columns$debt"
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/consensus" "$tmp/proto" "$tmp/tests" "$tmp/server/build" "$tmp/client"
  # At the limits exactly, and over them where the check must not look.
  printf 'x%.0s' $(seq 1 "$columns_max") > "$tmp/consensus/wide.h"
  echo >> "$tmp/consensus/wide.h"
  printf '// %s\n' "$(printf '—%.0s' $(seq 1 $((columns_max - 3))))" > "$tmp/client/utf8.cpp"
  seq 1 "$lines_max" > "$tmp/proto/long.fbs"
  seq 1 $((lines_max + 1)) > "$tmp/tests/long_test.cpp"
  seq 1 $((lines_max + 1)) > "$tmp/server/build/long.h"
  seq 1 $((lines_max + 1)) > "$tmp/proto/client_generated.h"
  check "$tmp" >/dev/null || { echo "tidy self-test: a tree within the limits was rejected"; exit 1; }
  plant_long() { seq 1 $((lines_max + 1)) > "$tmp/consensus/bad.cpp"; }
  plant_wide() { printf 'int x;%*s\n' $((columns_max - 5)) '' > "$tmp/consensus/bad.cpp"; }
  plant_schema() { printf 'table T {}  // %*s\n' "$columns_max" '' > "$tmp/proto/bad.fbs"; }
  for planted in plant_long plant_wide plant_schema; do
    rm -f "$tmp/consensus/bad.cpp" "$tmp/proto/bad.fbs"
    "$planted"
    if check "$tmp" >/dev/null; then
      echo "tidy self-test: missed the planted violation ($planted)"
      exit 1
    fi
  done
  # The known list: a ceiling holds; going over it, a ceiling too high and a
  # stale entry fail.
  rm -f "$tmp/consensus/bad.cpp" "$tmp/proto/bad.fbs"
  seq 1 $((lines_max + 5)) > "$tmp/server/big.cpp"
  plant_wide
  known=$tmp/known.txt
  good="server/big.cpp lines $((lines_max + 5))"$'\n'"consensus/bad.cpp columns 1"
  printf '# debt\n%s\n' "$good" > "$known"
  check "$tmp" "$known" >/dev/null || { echo "tidy self-test: a known ceiling was rejected"; exit 1; }
  for broken in "server/big.cpp lines $((lines_max + 4))" "server/big.cpp lines $((lines_max + 6))" \
                'consensus/bad.cpp columns 0' 'consensus/bad.cpp columns 2' 'cli/gone.cpp columns 1'; do
    read -r file kind _ <<< "$broken"
    { awk -v f="$file" -v k="$kind" '!($1 == f && $2 == k)' <<< "$good"; echo "$broken"; } > "$known"
    if check "$tmp" "$known" >/dev/null; then
      echo "tidy self-test: accepted a known list with a wrong entry: $broken"
      exit 1
    fi
  done
  echo "tidy self-test: a 1,001-line file and 101-column lines were caught; the limits themselves"\
       "pass; a known ceiling holds, and one exceeded, too high or stale fails"
  exit 0
fi

check "${1:?usage: check_lengths.sh SOURCE_DIR [KNOWN] | --self-test}" \
  "${2:-$(dirname "$0")/lengths_known.txt}"
