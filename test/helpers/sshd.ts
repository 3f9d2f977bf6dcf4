// ssh servers for multi-host tests: Debian's openssh-server, one per network namespace of a
// NetnsLab, with a host key and a client key made for the test in a temporary directory. The
// client side is a wrapper for --ssh-executable that points ssh at the test's own config and
// known hosts, so the user's ~/.ssh is never read or written.

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NetnsHost, NetnsLab, NetnsProcess } from './netns.js'

export const SSHD = '/usr/sbin/sshd'

/** Why ssh tests cannot run here, or undefined when they can. */
export function sshUnavailableReason (): string | undefined {
  if (!existsSync(SSHD)) return `no ${SSHD} (Debian's openssh-server; \`npm test\` installs it when run as root)`
  try {
    execFileSync('ssh', ['-V'], { stdio: 'pipe' })
    execFileSync('ssh-keygen', ['-?'], { stdio: 'pipe' })
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return 'no ssh client (Debian\'s openssh-client)'
  }
  return undefined
}

export class SshCluster {
  /** The --ssh-executable to give the launcher. */
  readonly sshWrapper: string
  private readonly servers = new Map<string, NetnsProcess>()

  private constructor (readonly dir: string, private readonly lab: NetnsLab) {
    this.sshWrapper = join(dir, 'ssh')
  }

  /** Keys, configs and the ssh wrapper in a fresh directory; no server runs yet. */
  static create (lab: NetnsLab): SshCluster {
    const dir = mkdtempSync(join(tmpdir(), 'scoop-ssh-'))
    const cluster = new SshCluster(dir, lab)
    const keygen = (file: string): void => { execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'scoop-node test', '-f', join(dir, file)], { stdio: 'pipe' }) }
    keygen('host_key')
    keygen('client_key')
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')))
    const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
    writeFileSync(join(dir, 'known_hosts'), lab.hosts.map(h => `${h.address} ${hostKey}\n`).join(''))
    writeFileSync(join(dir, 'ssh_config'), [
      'Host *',
      '  User root',
      `  IdentityFile ${join(dir, 'client_key')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '  LogLevel ERROR',
      ''
    ].join('\n'))
    writeFileSync(cluster.sshWrapper, `#!/bin/sh\nexec ssh -F ${join(dir, 'ssh_config')} "$@"\n`)
    chmodSync(cluster.sshWrapper, 0o755)
    // sshd insists on its privilege separation directory.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
    return cluster
  }

  /** Starts sshd on a host (listening on its lab address) and waits until it accepts connections. */
  async startServer (host: NetnsHost): Promise<void> {
    const config = join(this.dir, `sshd_config_${host.address}`)
    writeFileSync(config, [
      `ListenAddress ${host.address}`,
      `HostKey ${join(this.dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The test's temporary directory is not root's home: skip the ownership checks on it.
      'StrictModes no',
      'PidFile none',
      'AllowTcpForwarding yes',
      'LogLevel VERBOSE',
      ''
    ].join('\n'))
    // -D: stay in the foreground (its pid is ours to end); -e: log to stderr.
    const server = this.lab.spawn(host, SSHD, ['-D', '-e', '-f', config])
    this.servers.set(host.address, server)
    await server.waitForLine(/Server listening on/, { stream: 'stderr', timeoutMs: 20_000 })
  }

  /** The sshd listening on a host (not the sessions it forked). */
  server (host: NetnsHost): NetnsProcess | undefined {
    return this.servers.get(host.address)
  }

  /** Removes the keys and configs (the lab's cleanup ends the servers). */
  remove (): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
