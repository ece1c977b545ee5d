import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../api/event-bus';
import type { Task } from '../api/schemas';
import { getTask, insertTask } from '../db/tasks';
import { createMemoryWorkspace, createWorkspace } from '../db/workspace';
import { TaskRunner, throwIfCancelled } from './runner';

describe('TaskRunner', () => {
  it('runs work, persists progress and emits events', async () => {
    const db = createMemoryWorkspace();
    const events = new EventBus();
    const seen: Task[] = [];
    events.subscribe((event, payload) => {
      if (event === 'task.changed') seen.push(payload as Task);
    });
    const runner = new TaskRunner(db, events, { progressIntervalMs: 0 });
    const { task, result } = runner.start({ kind: 'test', title: 'count' }, async (ctx) => {
      for (let i = 1; i <= 3; i++) ctx.progress(i, 3, `step ${i}`);
      return { counted: 3 };
    });
    expect(await result).toEqual({ counted: 3 });
    const final = await runner.wait(task.id);
    expect(final).toMatchObject({ status: 'succeeded', progressDone: 3, progressTotal: 3 });
    expect(seen.at(0)?.status).toBe('running');
    expect(seen.at(-1)?.status).toBe('succeeded');
  });

  it('cancels through the AbortSignal and records it', async () => {
    const db = createMemoryWorkspace();
    const runner = new TaskRunner(db, new EventBus());
    const { task, result } = runner.start({ kind: 'test', title: 'forever' }, async (ctx) => {
      for (;;) {
        throwIfCancelled(ctx.signal);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    expect(runner.cancel(task.id)).toBe(true);
    await expect(result).rejects.toThrow(/Cancelled/);
    expect(getTask(db, task.id)?.status).toBe('cancelled');
    expect(runner.cancel(task.id)).toBe(false);
  });

  it('records failures with their message', async () => {
    const db = createMemoryWorkspace();
    const runner = new TaskRunner(db, new EventBus());
    const { task, result } = runner.start({ kind: 'test', title: 'boom' }, async () => {
      throw new Error('host unreachable');
    });
    await expect(result).rejects.toThrow();
    expect(getTask(db, task.id)).toMatchObject({ status: 'failed', error: 'host unreachable' });
  });

  it('settles the result when the final write fails (another process holds the write lock)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-runner-'));
    const db = createWorkspace(path.join(dir, 'ws.sqlite'));
    db.pragma('busy_timeout = 0');
    const other = new BetterSqlite3(path.join(dir, 'ws.sqlite'));
    const rejections: unknown[] = [];
    const record = (error: unknown): void => void rejections.push(error);
    process.on('unhandledRejection', record);
    try {
      const runner = new TaskRunner(db, new EventBus());
      const { result } = runner.start({ kind: 'test', title: 'locked out' }, async () => {
        other.exec('BEGIN IMMEDIATE');
        return 'done';
      });
      const outcome = await Promise.race([
        result.then(
          () => 'resolved',
          (error: unknown) => String(error),
        ),
        new Promise((r) => setTimeout(() => r('never settled'), 2000)),
      ]);
      expect(outcome).toMatch(/locked|busy/iu);
      await new Promise((r) => setTimeout(r, 50));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      other.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps running when a throttled progress write fails (another process holds the write lock)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-runner-'));
    const db = createWorkspace(path.join(dir, 'ws.sqlite'));
    db.pragma('busy_timeout = 0');
    const other = new BetterSqlite3(path.join(dir, 'ws.sqlite'));
    const uncaught: unknown[] = [];
    const record = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const runner = new TaskRunner(db, new EventBus(), { progressIntervalMs: 20 });
      const { task, result } = runner.start({ kind: 'test', title: 'slow writes' }, async (ctx) => {
        ctx.progress(1, 3);
        ctx.progress(2, 3); // throttled: written by a timer
        other.exec('BEGIN IMMEDIATE');
        await new Promise((r) => setTimeout(r, 100));
        other.exec('ROLLBACK');
        return 'done';
      });
      expect(await result).toBe('done');
      expect(uncaught).toEqual([]);
      expect(getTask(db, task.id)).toMatchObject({ status: 'succeeded', progressDone: 2 });
    } finally {
      process.off('uncaughtException', record);
      other.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not throw into the work when a direct (unthrottled) progress write fails', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-runner-'));
    const db = createWorkspace(path.join(dir, 'ws.sqlite'));
    db.pragma('busy_timeout = 0');
    const other = new BetterSqlite3(path.join(dir, 'ws.sqlite'));
    try {
      const runner = new TaskRunner(db, new EventBus(), { progressIntervalMs: 20 });
      const { task, result } = runner.start({ kind: 'test', title: 'locked writes' }, async (ctx) => {
        other.exec('BEGIN IMMEDIATE');
        await new Promise((r) => setTimeout(r, 30)); // past the interval: the next report writes at once
        ctx.progress(1, 2);
        other.exec('ROLLBACK');
        return 'done';
      });
      expect(await result).toBe('done');
      expect(getTask(db, task.id)).toMatchObject({ status: 'succeeded', progressDone: 1 });
    } finally {
      other.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns tasks left running by a previous process into interrupted ones', () => {
    const db = createMemoryWorkspace();
    const orphan = insertTask(db, { kind: 'audit', title: 'left behind' });
    new TaskRunner(db, new EventBus());
    expect(getTask(db, orphan.id)?.status).toBe('interrupted');
  });
});
