// Where the lab keeps things on the machine. Nothing here lives inside the repo:
// images and caches survive `down`, runtime state lives under /run and goes with it.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const CACHE_DIR = process.env.PATCHDECK_LAB_CACHE ?? '/var/cache/patchdeck-lab';
export const RUN_DIR = process.env.PATCHDECK_LAB_RUN ?? '/run/patchdeck-lab';
/** Outside RUN_DIR, which `down` removes. */
export const LAB_LOCK_FILE = `${RUN_DIR}.lock`;
export const STATE_FILE = path.join(RUN_DIR, 'state.json');
export const KNOWN_HOSTS_FILE = path.join(RUN_DIR, 'known_hosts');
export const LAB_KEY_FILE = path.join(CACHE_DIR, 'ssh', 'id_ed25519');
export const HOST_KEY_CACHE = path.join(CACHE_DIR, 'hostkeys');

export const NETWORK = '198.18.0.0/24';
export const GATEWAY = '198.18.0.1';
export const BRIDGE = 'labbr0';
/** First host gets 198.18.0.11; 50 hosts end at .60, well inside the /24. */
export const FIRST_HOST_OCTET = 11;
export const MAX_HOSTS = 200;
/** Every namespace and veth the lab creates carries one of these prefixes, so `down` can find leftovers of a crashed run. */
export const NETNS_PREFIX = 'pdlab-';
export const VETH_PREFIX = 'pdv-';

export const OPERATOR_PASSWORD = 'lab-operator-pw';
