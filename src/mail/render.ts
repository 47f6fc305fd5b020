/** The mail Strongroom sends, from handlebars templates with an HTML and a text part each. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { Mail } from './transport.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates');

function template(name: string) {
  const hb = Handlebars.create();
  return {
    html: hb.compile(readFileSync(path.join(DIR, `${name}.html.hbs`), 'utf8'), { strict: true }),
    // The text part is not HTML: nothing to escape.
    text: hb.compile(readFileSync(path.join(DIR, `${name}.txt.hbs`), 'utf8'), { strict: true, noEscape: true }),
  };
}

const TEMPLATES = {
  signInCode: template('sign-in-code'),
  newSignIn: template('new-sign-in'),
  securityNotice: template('security-notice'),
};

export interface SignInCodeMail {
  readonly to: string;
  readonly code: string;
  readonly minutes: number;
  readonly ip: string;
  /** The device's label, never its id. */
  readonly device: string;
}

export function signInCodeMail(m: SignInCodeMail): Mail {
  const t = TEMPLATES.signInCode;
  return { to: m.to, subject: 'Your Strongroom sign-in code', html: t.html(m), text: t.text(m) };
}

export interface NewSignInMail {
  readonly to: string;
  readonly ip: string;
  /** The device's label, never its id. */
  readonly device: string;
  readonly reason: string;
  readonly at: string;
}

export function newSignInMail(m: NewSignInMail): Mail {
  const t = TEMPLATES.newSignIn;
  return { to: m.to, subject: `New sign-in from ${m.ip}, device ${m.device}`, html: t.html(m), text: t.text(m) };
}

/** A change to how the account signs in, told to its owner. */
export interface SecurityNoticeMail {
  readonly to: string;
  /** What changed, as a subject line: "Your authenticator app was replaced". */
  readonly change: string;
  /** What it means for the owner: "Codes from the old app no longer work." */
  readonly consequence: string;
  readonly ip: string;
  /** The device's label, never its id. */
  readonly device: string;
  readonly at: string;
}

export function securityNoticeMail(m: SecurityNoticeMail): Mail {
  const t = TEMPLATES.securityNotice;
  return { to: m.to, subject: `Security notice: ${m.change}`, html: t.html(m), text: t.text(m) };
}
