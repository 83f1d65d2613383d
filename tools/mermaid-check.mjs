#!/usr/bin/env node
// Parses every ```mermaid block of the Markdown files given with Mermaid
// itself (in a jsdom window), as GitHub would before drawing it.
// Usage: node tools/mermaid-check.mjs FILE.md...
// Prints one line per block; exits 1 if a file has no block or a block
// does not parse, 2 on bad usage. Needs `npm ci --prefix tools`.
import fs from 'node:fs';
import { JSDOM } from 'jsdom';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node tools/mermaid-check.mjs FILE.md...');
  process.exit(2);
}
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let failed = 0;
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (blocks.length === 0) {
    console.log(`${file}: no mermaid block`);
    failed++;
  }
  for (const block of blocks) {
    try {
      const parsed = await mermaid.parse(block);
      console.log(`${file}: ${parsed.diagramType} parses`);
    } catch (e) {
      console.log(`${file}: ${e.message}`);
      failed++;
    }
  }
}
process.exit(failed ? 1 : 0);
