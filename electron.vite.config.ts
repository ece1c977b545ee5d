import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

// Custom entries: the shell lives in electron/, the page in renderer/, all output in out/.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // index.js is the main process; core.js is the entry of the core's utilityProcess.
      rollupOptions: {
        input: {
          index: path.resolve(import.meta.dirname, 'electron/main.ts'),
          core: path.resolve(import.meta.dirname, 'electron/core-process.ts'),
        },
      },
      externalizeDeps: true,
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can require only `electron`: bundle everything else into it.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: path.resolve(import.meta.dirname, 'electron/preload.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: path.resolve(import.meta.dirname, 'renderer'),
    plugins: [react()],
    build: {
      outDir: 'out/renderer',
      rollupOptions: { input: { index: path.resolve(import.meta.dirname, 'renderer/index.html') } },
    },
  },
});
