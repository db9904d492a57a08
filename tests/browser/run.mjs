// Runs the dashboard's browser tests: node run.mjs --herald <binary> --screenshots <dir>
// [--only name,name]. Prints one line per test and "N passed, N failed"; exits 1 on a failure.
//
// Each test starts a herald of its own (temp data dir, port 0) and Debian's /usr/bin/chromium
// through playwright-core; the screenshots it saves are the views an operator sees.

import {parseArgs} from 'node:util';
import path from 'node:path';
import {launchBrowser} from './harness.mjs';
import {flows} from './flows.mjs';
import {views, large, fixtures} from './views.mjs';

const tests = {...flows, views, fixtures, large};
const defaults = Object.keys(tests).filter((name) => name !== 'large');

const {values} = parseArgs({options: {
  herald: {type: 'string'},
  screenshots: {type: 'string', default: path.resolve('browser-screenshots')},
  only: {type: 'string'},
  list: {type: 'boolean', default: false},
}});

if (values.list) {
  console.log(Object.keys(tests).join('\n'));
  process.exit(0);
}
if (!values.herald) {
  console.error('usage: node run.mjs --herald <path of the herald binary> [--screenshots dir] [--only a,b]');
  process.exit(2);
}
const names = values.only ? values.only.split(',') : defaults;
for (const name of names) {
  if (!tests[name]) {
    console.error(`no test named ${name} (${Object.keys(tests).join(', ')})`);
    process.exit(2);
  }
}

let passed = 0;
let failed = 0;
const browser = await launchBrowser();
try {
  for (const name of names) {
    const started = Date.now();
    try {
      await tests[name]({binary: path.resolve(values.herald), shots: values.screenshots, browser});
      passed++;
      console.log(`ok ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed++;
      console.log(`not ok ${name} (${Date.now() - started} ms)\n${error.stack || error}`);
    }
  }
} finally {
  await browser.close();
}
console.log(`screenshots in ${values.screenshots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
