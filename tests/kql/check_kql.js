#!/usr/bin/env node
// Parse and semantically analyze KQL queries with the Kusto language service
// (Kusto.Language, the parser behind the Azure Data Explorer web UI), against the
// SecurityEvent schema in securityevent_schema.json.
//
// Input (a file named as the first argument, or standard input): a JSON list of
//   {"name": "...", "query": "...", "table": "SecurityEvent"}
// where "table" (optional, default SecurityEvent) is a table the query reads; every
// table named this way gets the SecurityEvent columns.
//
// Output (standard output): a JSON list, one entry per query, in input order:
//   {"name", "diagnostics": [{"source", "code", "severity", "message", "start", "length", "text"}],
//    "columns": [[name, type], ...] or null (the result's columns when it is a table)}
// "source" is "compiler" (syntax and semantic checks) or "analyzer" (the best-practice
// warnings the web UI shows); "severity" is "Error", "Warning", "Suggestion" or "Information".
// Exit status: 0 when the queries were analyzed (whatever the diagnostics say), 2 on bad
// input or when the language service cannot be loaded.
"use strict";

const fs = require("fs");
const path = require("path");

const PACKAGE = path.join(__dirname, "node_modules", "@kusto", "language-service-next");
const SCHEMA = path.join(__dirname, "securityevent_schema.json");

function fail(message) {
  process.stderr.write(`check_kql: ${message}\n`);
  process.exit(2);
}

function load() {
  try {
    // Bridge.NET's runtime defines the global Bridge and System; the translated
    // Kusto.Language assembly then defines the global Kusto.
    require(path.join(PACKAGE, "bridge.min.js"));
    require(path.join(PACKAGE, "Kusto.Language.Bridge.min.js"));
  } catch (err) {
    fail(`cannot load ${PACKAGE} (${err.message}); run: npm ci --prefix tests/kql`);
  }
  return global.Kusto.Language;
}

function scalarType(Symbols, name) {
  const types = {
    string: Symbols.ScalarTypes.String,
    int: Symbols.ScalarTypes.Int,
    long: Symbols.ScalarTypes.Long,
    real: Symbols.ScalarTypes.Real,
    decimal: Symbols.ScalarTypes.Decimal,
    bool: Symbols.ScalarTypes.Bool,
    datetime: Symbols.ScalarTypes.DateTime,
    timespan: Symbols.ScalarTypes.TimeSpan,
    guid: Symbols.ScalarTypes.Guid,
    dynamic: Symbols.ScalarTypes.Dynamic,
  };
  const found = types[name];
  if (!found) fail(`unknown column type ${JSON.stringify(name)} in ${SCHEMA}`);
  return found;
}

function globalsFor(Language, schema, tableNames) {
  const Symbols = Language.Symbols;
  const tables = [...tableNames].map((table) => {
    const columns = schema.columns.map(
      (col) => new Symbols.ColumnSymbol(col.name, scalarType(Symbols, col.type), null, null, null, null)
    );
    return new Symbols.TableSymbol.$ctor4(table, columns);
  });
  const database = new Symbols.DatabaseSymbol.$ctor2("SecurityLogs", null, tables);
  return Language.GlobalState.Default.WithDatabase(database);
}

function list(items) {
  const out = [];
  if (items) for (let i = 0; i < items.Count; i++) out.push(items.getItem(i));
  return out;
}

function analyze(Language, globals, item) {
  const code = Language.KustoCode.ParseAndAnalyze(item.query, globals);
  // The parser's and binder's diagnostics, then the web UI's best-practice analyzers.
  const analyzers = new Language.Editor.KustoCodeService.ctor(code).GetAnalyzerDiagnostics(true);
  const found = [
    ...list(code.GetDiagnostics()).map((d) => ["compiler", d]),
    ...list(analyzers).map((d) => ["analyzer", d]),
  ];
  const diagnostics = found.map(([source, d]) => ({
    source,
    code: d.Code,
    severity: d.Severity,
    message: d.Message,
    start: d.Start,
    length: d.Length,
    text: item.query.substr(d.Start, Math.max(d.Length, 1)),
  }));
  const result = code.ResultType;
  const columns =
    result && result.Columns ? list(result.Columns).map((col) => [col.Name, col.Type.Name]) : null;
  return { name: item.name, diagnostics, columns };
}

function main() {
  const source = process.argv[2];
  let items;
  try {
    items = JSON.parse(fs.readFileSync(source === undefined ? 0 : source, "utf8"));
  } catch (err) {
    fail(`cannot read the queries: ${err.message}`);
  }
  if (!Array.isArray(items) || !items.every((it) => it && typeof it.query === "string")) {
    fail('expected a JSON list of {"name": ..., "query": ...}');
  }
  const schema = JSON.parse(fs.readFileSync(SCHEMA, "utf8"));
  const Language = load();
  const tableNames = new Set([schema.table, ...items.map((it) => it.table || schema.table)]);
  const globals = globalsFor(Language, schema, tableNames);
  // Identical texts (the Sentinel and Kusto files hold the same KQL) are analyzed once.
  const seen = new Map();
  const results = items.map((item) => {
    const key = `${item.table || schema.table}\u0000${item.query}`;
    if (!seen.has(key)) seen.set(key, analyze(Language, globals, item));
    return { ...seen.get(key), name: item.name };
  });
  process.stdout.write(JSON.stringify(results) + "\n");
}

main();
