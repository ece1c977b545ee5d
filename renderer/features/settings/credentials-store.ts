import { create } from 'zustand';
import type { CallArgs, CallResult } from '../../../src/api/contract';
import type { Credential } from '../../../src/api/schemas';
import { api, describeError } from '../../api';

export type NewCredential = CallArgs<'credentials.add'>;
export type ConnectionTest = CallResult<'credentials.test'>;

interface CredentialsState {
  credentials: Credential[];
  error: string | null;
  /** Test results by credential id. */
  tests: Map<number, ConnectionTest | 'running'>;
  load(): Promise<void>;
  /** Sends the secrets once; the store never keeps them. Resolves true when added. */
  add(input: NewCredential): Promise<boolean>;
  remove(id: number): Promise<void>;
  test(id: number, hostId: number): Promise<void>;
}

export const useCredentials = create<CredentialsState>((set, get) => ({
  credentials: [],
  error: null,
  tests: new Map(),
  async load() {
    try {
      set({ credentials: await api.credentials.list(), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async add(input) {
    try {
      const created = await api.credentials.add(input);
      set({ credentials: [...get().credentials.filter((c) => c.id !== created.id), created], error: null });
      return true;
    } catch (error) {
      set({ error: describeError(error) });
      return false;
    }
  },
  async remove(id) {
    try {
      await api.credentials.remove({ id });
      set({ credentials: get().credentials.filter((c) => c.id !== id), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async test(id, hostId) {
    set({ tests: new Map(get().tests).set(id, 'running') });
    let result: ConnectionTest;
    try {
      result = await api.credentials.test({ id, hostId });
    } catch (error) {
      result = { ok: false, sudo: null, message: describeError(error) };
    }
    set({ tests: new Map(get().tests).set(id, result) });
  },
}));

api.on('entity.changed', ({ entity }) => {
  if (entity === 'credentials' || entity === 'workspace') void useCredentials.getState().load();
});
