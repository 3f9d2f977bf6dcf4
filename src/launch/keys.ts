// Swarm key files for long-lived meshes (`scoop-node keygen`, `--key`, SCOOP_KEY_FILE): the
// pre-shared key every peer of a mesh must hold to complete a connection (libp2p pnet).

import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { InvalidArgumentError } from '../errors.js'

/** libp2p's swarm.key format, version 1: a header, the encoding, 32 random bytes in hex. */
const SWARM_KEY_FORMAT = /^\/key\/swarm\/psk\/1\.0\.0\/\r?\n\/base16\/\r?\n[0-9a-fA-F]{64}\s*$/

/** Writes a fresh key readable by its owner only; refuses to overwrite an existing file unless told. */
export async function writeKeyFile (path: string, options: { force?: boolean } = {}): Promise<void> {
  if (existsSync(path) && options.force !== true) {
    throw new InvalidArgumentError(`${path} already exists; a new key would lock out every peer that uses it (give --force to replace it)`)
  }
  // libp2p is loaded only here: reading a key file (every long-lived start) must stay light.
  const { newSwarmKey } = await import('../mesh/node.js')
  writeFileSync(path, newSwarmKey(), { mode: 0o600 })
  chmodSync(path, 0o600)
}

/** Reads and checks a key file; the error says what is wrong with it. */
export function readKeyFile (path: string): Uint8Array {
  let text: string
  let mode: number
  try {
    const stats = statSync(path)
    if (!stats.isFile()) throw new Error('not a file')
    mode = stats.mode
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the swarm key file ${path}: ${(err as Error).message}`)
  }
  if (!SWARM_KEY_FORMAT.test(text)) {
    throw new InvalidArgumentError(`${path} is not a swarm key file (make one with: scoop-node keygen ${path})`)
  }
  if ((mode & 0o077) !== 0) {
    process.stderr.write(`scoop-node: warning: ${path} is readable by other users; anyone who can read it can join the mesh (chmod 600 ${path})\n`)
  }
  return new TextEncoder().encode(text)
}
