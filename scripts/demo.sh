#!/bin/sh
# Install yanex into .venv and run a real demo sweep in a throwaway git
# repository under .demo/, with its own experiment store.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
. scripts/venv.sh
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e .
yanex="$VENV/bin/yanex"

demo="$top/.demo"
rm -rf "$demo"
mkdir -p "$demo/project"
cp examples/train.py examples/config.yaml "$demo/project/"
cd "$demo/project"
git init --quiet -b main
git add train.py config.yaml
git -c user.name=yanex-demo -c user.email=demo@example.com \
    commit --quiet -m "demo project"

export YANEX_EXPERIMENTS_DIR="$demo/store"
"$yanex" run train.py --name demo --tag demo \
    --param "optimizer.lr=logspace(-3, 0, 4)" --param "epochs=list(20, 40)" -j 2

cat <<EOF

The experiments are in $YANEX_EXPERIMENTS_DIR, one directory each.
Look at them with:

    export YANEX_EXPERIMENTS_DIR=$YANEX_EXPERIMENTS_DIR
    $yanex list
    $yanex compare --sort accuracy --desc
    $yanex show <id>
EOF
