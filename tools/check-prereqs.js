#!/usr/bin/env node
'use strict';
/**
 * Checks what `npm test` needs before anything is compiled (plain CommonJS on
 * purpose: it may run before `npm ci`). Installs nothing. When something is
 * missing it prints what, and one command that fixes it, and exits 1;
 * otherwise it is silent and exits 0.
 *
 * The logic is `findMissing(probe)`, exported so that it can be tested with a
 * fake environment.
 */
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const APT_PACKAGES = 'rabbitmq-server openssl python3-pika amqp-tools';
const APT_COMMAND = `sudo apt-get install -y ${APT_PACKAGES}`;
const NPM_COMMAND = 'npm ci';

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const PYTHON = '/usr/bin/python3';

/**
 * @typedef {object} Probe
 * @property {(p: string) => boolean} exists   a file exists
 * @property {(cmd: string) => boolean} onPath  an executable of that name is on PATH
 * @property {() => boolean} pythonHasPika      `/usr/bin/python3 -c 'import pika'` succeeds
 * @property {Record<string, string | undefined>} env
 * @property {string} root                       the project root
 */

/**
 * @param {Probe} probe
 * @returns {{ missing: string[], fix: string[] }} what is missing, and the commands that fix it
 */
function findMissing(probe) {
  const missing = [];
  let needApt = false;
  let needNpm = false;
  if (!probe.exists(path.join(probe.root, 'node_modules'))) {
    missing.push('node_modules (the npm dependencies are not installed)');
    needNpm = true;
  }
  const ownBroker = Boolean(probe.env.AMQP_URL);
  if (!ownBroker && !probe.exists(RABBITMQ_SERVER)) {
    missing.push(`${RABBITMQ_SERVER} (Debian package rabbitmq-server; or set AMQP_URL to use your own broker)`);
    needApt = true;
  }
  if (!probe.onPath('openssl')) {
    missing.push('openssl on PATH (Debian package openssl)');
    needApt = true;
  }
  if (!probe.exists(PYTHON)) {
    missing.push(`${PYTHON} with pika (Debian package python3-pika)`);
    needApt = true;
  } else if (!probe.pythonHasPika()) {
    missing.push(`pika for ${PYTHON}: \`${PYTHON} -c 'import pika'\` fails (Debian package python3-pika)`);
    needApt = true;
  }
  const tools = ['amqp-publish', 'amqp-consume', 'amqp-get'].filter((t) => !probe.onPath(t));
  if (tools.length) {
    missing.push(`${tools.join(', ')} on PATH (Debian package amqp-tools)`);
    needApt = true;
  }
  const fix = [];
  if (needApt && needNpm) fix.push(`${APT_COMMAND} && ${NPM_COMMAND}`);
  else if (needApt) fix.push(APT_COMMAND);
  else if (needNpm) fix.push(NPM_COMMAND);
  return { missing, fix };
}

/** @returns {Probe} the real machine */
function realProbe() {
  const env = process.env;
  return {
    env,
    root: path.resolve(__dirname, '..'),
    exists: (p) => fs.existsSync(p),
    onPath: (cmd) =>
      (env.PATH || '')
        .split(path.delimiter)
        .filter(Boolean)
        .some((dir) => {
          try {
            fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
            return fs.statSync(path.join(dir, cmd)).isFile();
          } catch {
            return false;
          }
        }),
    pythonHasPika: () => spawnSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore', timeout: 30000 }).status === 0,
  };
}

/** @returns {string} the report printed when something is missing */
function formatReport(result) {
  return [
    'coney: cannot run the tests, missing:',
    ...result.missing.map((m) => `  - ${m}`),
    'Fix with:',
    ...result.fix.map((c) => `  ${c}`),
    '',
  ].join('\n');
}

if (require.main === module) {
  const result = findMissing(realProbe());
  if (result.missing.length) {
    process.stderr.write(formatReport(result));
    process.exit(1);
  }
}

module.exports = { findMissing, realProbe, formatReport, APT_COMMAND, NPM_COMMAND };
