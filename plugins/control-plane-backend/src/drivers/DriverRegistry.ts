import {
  ControlPlaneDriver,
  DriverCallContext,
  DriverStepInfo,
} from '@idp-multicloud/plugin-control-plane-node';

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
      // A wrapper (provider health) times the methods it knows; optional ones pass through.
      if (driver.awaitPhase && !wrapped.awaitPhase) {
        wrapped = { ...wrapped, awaitPhase: driver.awaitPhase.bind(driver) };
      }
      if (driver.apisInUse && !wrapped.apisInUse) {
        wrapped = { ...wrapped, apisInUse: driver.apisInUse.bind(driver) };
      }
      this.wrapped.set(id, wrapped);
    }
    return wrapped;
  }

  /** Runs every driver's `beforeStep` hook (drivers without one are skipped). */
  async beforeStep(
    step: DriverStepInfo,
    ctx: DriverCallContext,
  ): Promise<void> {
    for (const driver of this.drivers.values()) {
      await driver.beforeStep?.(step, ctx);
    }
  }

  ids(): string[] {
    return [...this.drivers.keys()].sort();
  }
}
