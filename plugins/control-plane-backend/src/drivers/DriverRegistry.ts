import { ControlPlaneDriver } from '@idp-multicloud/plugin-control-plane-node';

/**
 * The drivers modules added, by id, each wrapped once (to record provider health).
 */
export class DriverRegistry {
  private readonly drivers = new Map<string, ControlPlaneDriver>();
  private readonly wrapped = new Map<string, ControlPlaneDriver>();
  private wrap: (driver: ControlPlaneDriver) => ControlPlaneDriver = d => d;

  add(driver: ControlPlaneDriver): void {
    if (this.drivers.has(driver.id)) {
      throw new Error(`A driver with id ${driver.id} was added twice`);
    }
    this.drivers.set(driver.id, driver);
  }

  /** Wraps every driver handed out from now on. */
  setWrapper(wrap: (driver: ControlPlaneDriver) => ControlPlaneDriver): void {
    this.wrap = wrap;
    this.wrapped.clear();
  }

  get(id: string): ControlPlaneDriver | undefined {
    const driver = this.drivers.get(id);
    if (!driver) return undefined;
    let wrapped = this.wrapped.get(id);
    if (!wrapped) {
      wrapped = this.wrap(driver);
      this.wrapped.set(id, wrapped);
    }
    return wrapped;
  }

  ids(): string[] {
    return [...this.drivers.keys()].sort();
  }
}
