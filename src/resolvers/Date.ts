/** The Date scalar: a calendar date, `YYYY-MM-DD`, checked to be a real date (years 0001–9999). */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
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
  // A literal is checked while the document is validated, so its error is an uncoded
  // GraphQLError, which Apollo reports as GRAPHQL_VALIDATION_FAILED (a coded one would keep
  // its own code, and any other error would be masked as an internal one).
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || parseDate(ast.value) === undefined) throw new GraphQLError('A Date is a calendar date such as 2026-04-01.', { nodes: ast });
    return ast.value;
  },
});
