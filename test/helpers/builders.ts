/**
 * Seed builders for test data: `await aLicence().forUser('alice').create()`. Each builder
 * fills every field with a unique, valid default, so a test names only what it is about,
 * and writes through the services (the same path as the API).
 *
 * `create()` uses the services of the surrounding `useTestDatabases()` (inside its per-test
 * transaction) unless given others. Other domains add their builders in their own files
 * (`aUser()` …) and may reuse {@link builderServices} and {@link unique}.
 */
import { randomBytes } from 'node:crypto';
import type { StoreServices } from '../../src/services/index.ts';
import type { Licence, LicenceEvent, NewLicence } from '../../src/services/licences.ts';

let current: StoreServices | undefined;

/** Set by useTestDatabases() around each test. */
export function setBuilderServices(services: StoreServices | undefined): void {
  current = services;
}

/** The services a builder writes through: the given ones, or the current test's. */
export function builderServices(given?: StoreServices): StoreServices {
  const services = given ?? current;
  if (!services) throw new TypeError('builders need services: call useTestDatabases() in the test file, or pass services to create()');
  return services;
}

/** A short unique suffix for names that must not collide across tests and runs. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

interface PlannedEvent {
  readonly source: string;
  readonly kind: string;
  readonly occurredAt: Date;
}

export class LicenceBuilder {
  private fields: { -readonly [K in keyof NewLicence]: NewLicence[K] } = {
    username: unique('user'),
    application: unique('App'),
    licenceKey: unique('KEY'),
  };
  private readonly events: PlannedEvent[] = [];

  forUser(username: string): this {
    this.fields.username = username;
    return this;
  }

  forApplication(application: string): this {
    this.fields.application = application;
    return this;
  }

  withUniqueId(uniqueId: string): this {
    this.fields.uniqueId = uniqueId;
    return this;
  }

  withKey(licenceKey: string): this {
    this.fields.licenceKey = licenceKey;
    return this;
  }

  inactive(): this {
    this.fields.active = false;
    return this;
  }

  expiringAt(date: Date | null): this {
    this.fields.expiresAt = date;
    return this;
  }

  /** Adds an event, recorded right after the licence is created. */
  withEvent(kind: string, occurredAt: Date, source = 'desktop'): this {
    this.events.push({ kind, occurredAt, source });
    return this;
  }

  /** Creates the licence (and its events); resolves to the licence, with its events. */
  async create(services?: StoreServices): Promise<Licence & { events: LicenceEvent[] }> {
    const { licences } = builderServices(services);
    const licence = await licences.create(this.fields);
    const events: LicenceEvent[] = [];
    for (const e of this.events) events.push(await licences.recordEvent({ licenceId: licence.id, ...e }));
    return { ...licence, events };
  }
}

export const aLicence = () => new LicenceBuilder();
