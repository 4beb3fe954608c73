#!/bin/sh
# fetch.sh writes the schemacov corpus: one directory per source, one schema
# per file, NNNN.json numbered in the upstream path order.
#
#   tools/schemacov/fetch.sh OUT [JSONSCHEMABENCH] [SCHEMASTORE]
#
# JSONSCHEMABENCH is a git checkout (or bare clone) of
# https://github.com/guidance-ai/jsonschemabench: every data/<Split>/*.json
# (Github_trivial, Github_easy, Github_medium, Github_hard, Github_ultra,
# Glaiveai2K, JsonSchemaStore, Kubernetes, Snowplow, WashingtonPost; one
# schema per file) becomes OUT/<Split>/NNNN.json. SCHEMASTORE is a checkout
# of https://github.com/SchemaStore/schemastore: src/schemas/json/*.json
# becomes OUT/SchemaStore/NNNN.json. A missing checkout is cloned (depth 1)
# into a temporary directory. OUT/<source>/INDEX.tsv maps NNNN to the
# upstream path, OUT/SOURCES.tsv records each repository's commit, and
# OUT/MISSING.tsv lists paths whose blob the checkout lacks (a partial
# clone or mirror; a full clone lacks none).
#
# Measured corpus: jsonschemabench ba103c73756198dd9b149ddc7db7867da7a077f6
# (9,558 schemas) and schemastore 3b6446ad8a077bac56f4a4796c0b7fd88927fc8e
# (956 schemas); the mirror it was read from lacked six multi-megabyte blobs
# (JsonSchemaStore cloudformation.schema.json, SchemaStore kestra-0.18.*.json
# and kestra-0.19.0.json), so the measured corpus holds 9,557 + 951.
set -eu

out=${1:?usage: fetch.sh OUT [JSONSCHEMABENCH] [SCHEMASTORE]}
bench=${2:-}
store=${3:-}
tmp=

checkout() { # URL DIR-OR-EMPTY -> prints a git dir
	if [ -n "$2" ]; then
		git -C "$2" rev-parse --git-dir >/dev/null && (cd "$2" && cd "$(git rev-parse --git-dir)" && pwd)
		return
	fi
	[ -n "$tmp" ] || tmp=$(mktemp -d)
	d="$tmp/$(basename "$1")"
	git clone --quiet --depth 1 --bare "$1" "$d"
	echo "$d"
}

# export GITDIR PREFIX SOURCE: writes every *.json blob under PREFIX (one
# level, sorted) as OUT/SOURCE/NNNN.json.
export_dir() {
	dst="$out/$3"
	rm -rf "$dst"
	mkdir -p "$dst"
	i=0
	git --git-dir="$1" ls-tree --name-only HEAD "$2/" | grep '\.json$' | LC_ALL=C sort | while read -r path; do
		if ! git --git-dir="$1" cat-file -e "HEAD:$path" 2>/dev/null; then
			# A partial snapshot may lack the largest blobs.
			printf '%s\t%s\n' "$3" "$path" >>"$out/MISSING.tsv"
			continue
		fi
		n=$(printf '%04d' "$i")
		git --git-dir="$1" show "HEAD:$path" >"$dst/$n.json"
		printf '%s\t%s\n' "$n" "$path" >>"$dst/INDEX.tsv"
		i=$((i + 1))
	done
	echo "$3: $(ls "$dst" | grep -c '\.json$') schemas" >&2
}

mkdir -p "$out"
: >"$out/SOURCES.tsv"
: >"$out/MISSING.tsv"

g=$(checkout https://github.com/guidance-ai/jsonschemabench "$bench")
printf 'guidance-ai/jsonschemabench\t%s\n' "$(git --git-dir="$g" rev-parse HEAD)" >>"$out/SOURCES.tsv"
git --git-dir="$g" ls-tree --name-only HEAD data/ | while read -r split; do
	export_dir "$g" "$split" "$(basename "$split")"
done

g=$(checkout https://github.com/SchemaStore/schemastore "$store")
printf 'SchemaStore/schemastore\t%s\n' "$(git --git-dir="$g" rev-parse HEAD)" >>"$out/SOURCES.tsv"
export_dir "$g" src/schemas/json SchemaStore

[ -z "$tmp" ] || rm -rf "$tmp"
