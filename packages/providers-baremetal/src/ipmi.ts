/**
 * An IPMI BMC driven by `ipmitool -I lanplus -C 3` (IPMI v2.0, cipher suite 3). The password
 * goes through the IPMI_PASSWORD environment variable (`-E`), never on the command line, where
 * any local user could read it. Sessions ask for the OPERATOR privilege level (enough for power and
 * boot device), so OPERATOR and ADMINISTRATOR accounts both work.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { refused, unavailable } from '@cx/provider-kit';
import type { PowerAction, PowerState } from '@cx/sddc-contract';
import { confirmPowerOff, DEFAULT_POWER_TIMEOUT_MS } from './power.js';
import type { Bmc, BmcAccess, BmcOptions, BootDevice } from './types.js';

const BOOT_DEVICES: Record<BootDevice, string> = { pxe: 'pxe', cd: 'cdrom', disk: 'disk' };

/** Splits `host:port`, `[v6]:port` or a bare host (port 623). */
export function ipmiHostPort(address: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  const port = match?.[2] === undefined ? 623 : Number(match[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw refused(`IPMI address ${address} is not host:port`, 'InvalidAddress');
  }
  return { host: match[1], port };
}

interface Run {
  stdout: string;
  stderr: string;
}

/** An IPMI BMC (one host per BMC). */
export class IpmiBmc implements Bmc {
  private readonly label: string;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly powerTimeoutMs: number;

  constructor(
    private readonly access: BmcAccess,
    options: BmcOptions = {},
  ) {
    ({ host: this.host, port: this.port } = ipmiHostPort(access.address));
    // IPMI v2.0 limits (ipmitool refuses longer ones): 16 bytes of user name, 20 of password.
    if (Buffer.byteLength(access.username) > 16)
      throw refused('an IPMI user name is at most 16 bytes', 'InvalidUsername');
    if (Buffer.byteLength(access.password) > 20)
      throw refused('an IPMI password is at most 20 bytes', 'InvalidPassword');
    this.label = `BMC ${access.address}`;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.powerTimeoutMs = options.powerTimeoutMs ?? DEFAULT_POWER_TIMEOUT_MS;
  }

  async check(): Promise<void> {
    await this.powerState();
  }

  async powerState(): Promise<PowerState> {
    const { stdout } = await this.run(['chassis', 'power', 'status']);
    const state = /Chassis Power is (on|off)/i.exec(stdout)?.[1]?.toLowerCase();
    if (state !== 'on' && state !== 'off')
      throw refused(
        `${this.label} answered the power status with something cx does not understand`,
        'EndpointFailing',
        { retryable: true },
      );
    return state;
  }

  async power(action: PowerAction): Promise<void> {
    const current = await this.powerState();
    if ((action === 'on' && current === 'on') || (action === 'off' && current === 'off')) return;
    // Resetting a host that is off means powering it on.
    const command = action === 'reset' && current === 'off' ? 'on' : action;
    const { stdout, stderr } = await this.run(['chassis', 'power', command]);
    if (!/Chassis Power Control:/i.test(stdout)) {
      throw refused(`${this.label} refused chassis power ${command}: ${firstLine(stderr) ?? 'no answer'}`, 'Refused');
    }
    if (command === 'off') await confirmPowerOff(() => this.powerState(), this.label, this.powerTimeoutMs);
  }

  async setBootOnce(device: BootDevice): Promise<void> {
    // ipmitool exits 0 even when the BMC refuses a boot parameter: read what it printed.
    const { stdout, stderr } = await this.run(['chassis', 'bootdev', BOOT_DEVICES[device]]);
    const failure = /^.*failed.*$/im.exec(`${stderr}\n${stdout}`)?.[0];
    if (failure || !/Set Boot Device to/i.test(stdout)) {
      throw refused(
        `${this.label} refused to boot from ${BOOT_DEVICES[device]} on next boot (${failure?.trim() ?? 'no confirmation'}); set the boot order on the host instead`,
        'BootDeviceRefused',
      );
    }
  }

  async close(): Promise<void> {
    // Each ipmitool run opens and closes its own session: nothing to release.
  }

  private run(args: string[]): Promise<Run> {
    const argv = [
      '-I',
      'lanplus',
      '-C',
      '3',
      '-H',
      this.host,
      '-p',
      String(this.port),
      '-U',
      this.access.username,
      '-E',
      '-L',
      'OPERATOR',
      '-N',
      '2',
      '-R',
      '2',
      '-v',
      ...args,
    ];
    return new Promise((resolve, reject) => {
      execFile(
        'ipmitool',
        argv,
        {
          env: { ...process.env, IPMI_PASSWORD: this.access.password },
          timeout: this.timeoutMs,
          killSignal: 'SIGKILL',
        },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr });
          reject(this.failure(error, stdout, stderr));
        },
      );
    });
  }

  /** Maps an ipmitool failure to a cx error; `-v` makes it say why a session could not be set up. */
  private failure(error: ExecFileException, stdout: string, stderr: string): Error {
    if (error.code === 'ENOENT')
      return refused(
        'ipmitool is not installed on the sddc host; install it (Debian package ipmitool)',
        'IpmitoolMissing',
      );
    if (error.killed)
      return unavailable(
        `${this.label} did not answer within ${Math.round(this.timeoutMs / 1000)} s`,
        'Timeout',
        error,
      );
    const text = `${stderr}\n${stdout}`;
    if (
      /RAKP|unauthorized name|invalid password|HMAC is invalid|insufficient privilege|unauthorized role/i.test(text)
    ) {
      return refused(
        `${this.label} rejected the login of user ${this.access.username}; check the BMC account, its password and that it may use cipher suite 3`,
        'AuthFailed',
        { cause: error },
      );
    }
    if (/Unable to establish|Get Auth Capabilities|No response|Authentication Capabilities/i.test(text)) {
      return unavailable(
        `${this.label} cannot be reached over IPMI (UDP); check the address and that the BMC's LAN channel is enabled`,
        'Unreachable',
        error,
      );
    }
    return refused(`${this.label}: ipmitool failed: ${firstLine(stderr) ?? `exit ${String(error.code)}`}`, 'Refused', {
      cause: error,
    });
  }
}

function firstLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line && !line.startsWith('Loading IANA'));
}
