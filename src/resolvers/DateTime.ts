/** The DateTime scalar: ISO 8601 strings in UTC out, and in. */
import { GraphQLScalarType, Kind } from 'graphql';
import { BadUserInputError } from '../errors.ts';

function parse(value: unknown): Date {
  const d = typeof value === 'string' ? new Date(value) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new BadUserInputError('A DateTime is an ISO 8601 string such as 2024-05-01T12:00:00Z.');
  return d;
}

export const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize(value) {
    const d = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(d.getTime())) throw new TypeError('DateTime cannot represent an invalid date');
    return d.toISOString();
  },
  parseValue: parse,
  parseLiteral: (ast) => parse(ast.kind === Kind.STRING ? ast.value : undefined),
});
