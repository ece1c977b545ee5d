#!/usr/bin/env node
// `npm start`: the desktop app when Electron's binary is present or can be fetched; otherwise
// one line says why and Patchdeck runs in the browser mode instead, so `npm start` always works.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');

function electronBinary() {
  try {
    const electronDir = path.dirname(require.resolve('electron/package.json'));
    const pathFile = path.join(electronDir, 'path.txt');
    if (!fs.existsSync(pathFile)) return null;
    const binary = path.join(electronDir, 'dist', fs.readFileSync(pathFile, 'utf8').trim());
    return fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const binary = electronBinary();
if (binary) {
  run('npx', ['electron-vite', 'build']);
  const child = spawn(binary, ['.'], { stdio: 'inherit', cwd: root });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log(
    'Electron binary not installed (it cannot be downloaded here); starting Patchdeck in browser mode instead.',
  );
  run('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn']);
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin/patchdeck.mjs'), 'serve', ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      cwd: root,
    },
  );
  child.on('exit', (code) => process.exit(code ?? 0));
}
