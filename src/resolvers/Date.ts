/** The Date scalar: a calendar date, `YYYY-MM-DD`, checked to be a real date (years 0001–9999). */
import { GraphQLScalarType, Kind } from 'graphql';
import { BadUserInputError } from '../errors.ts';
import { parseDate } from '../services/statistics/calendar.ts';

function parse(value: unknown): string {
  if (typeof value !== 'string' || parseDate(value) === undefined) throw new BadUserInputError('A Date is a calendar date such as 2026-04-01.');
  return value;
}

export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  serialize(value) {
    if (typeof value !== 'string' || parseDate(value) === undefined) throw new TypeError('Date cannot represent this value');
    return value;
  },
  parseValue: parse,
  parseLiteral: (ast) => parse(ast.kind === Kind.STRING ? ast.value : undefined),
});
