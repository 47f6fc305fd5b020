/** Tables of the `auth` schema (auth database). Code for the data database never imports this file. */
import { pgSchema } from 'drizzle-orm/pg-core';

export const auth = pgSchema('auth');
