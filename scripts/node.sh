# Sourced by scripts/test.sh and scripts/test-unit.sh: makes `node` (and the npm/npx that run on it)
# a Node.js that package.json's `engines` accepts. The system's node when it is new enough;
# otherwise Node 22 from npm (the `node` package ships the binary; npx keeps it in its cache, so
# only the first run on a machine downloads it, ~15 s), put first on PATH for everything the
# scripts start: npm ci, tsc, the test runner and every process a test spawns.
# bin/tickflow.js does the same for `npm start` and `tickflow` (README, "Node.js versions").

# The floor, e.g. 22.19 from ">=22.19".
tickflow_node_floor() {
  node -p "require('./package.json').engines.node.replace(/^>=\\s*/, '')"
}

# Exit status 0 when the `node` on PATH is at least the floor.
tickflow_node_ok() {
  node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    const [needMajor, needMinor = 0] = process.argv[1].split(".").map(Number);
    process.exit(major > needMajor || (major === needMajor && minor >= needMinor) ? 0 : 1);
  ' "$1"
}

tickflow_node_floor_value="$(tickflow_node_floor)"
if ! tickflow_node_ok "$tickflow_node_floor_value"; then
  tickflow_node_old="$(node -v)"
  tickflow_node_bin="$(npx --yes -p "node@${tickflow_node_floor_value%%.*}" -c 'dirname "$(command -v node)"')"
  export PATH="$tickflow_node_bin:$PATH"
  tickflow_node_ok "$tickflow_node_floor_value" || {
    echo "scripts/node.sh: Node $(node -v) from npm is still older than $tickflow_node_floor_value" >&2
    exit 1
  }
  echo "scripts/node.sh: system Node $tickflow_node_old is older than $tickflow_node_floor_value (engines); using Node $(node -v) from npm" >&2
fi
