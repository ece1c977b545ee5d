import { migration001 } from './001_initial';
import { migration002 } from './002_scan_hosts';
import { migration003 } from './003_patch_jobs';
import { migration004 } from './004_key_trust';
import { migration005 } from './005_task_outcome';
import { migration006 } from './006_reboot_pending';
import { migration007 } from './007_host_names';
import { migration008 } from './008_schedules';
import { migration009 } from './009_network_device';
import { migration010 } from './010_job_log';
import { migration011 } from './011_windows_credentials';
import { migration012 } from './012_windows_audit';
import { migration013 } from './013_advisories';
import { migration014 } from './014_portable';
import { migration015 } from './015_current_picture';
import type { Migration } from './types';

export type { Migration } from './types';

/** Every migration, in order. Append only; never edit one that has shipped. */
export const migrations: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
  migration011,
  migration012,
  migration013,
  migration014,
  migration015,
];

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1]!.version;
