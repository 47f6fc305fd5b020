import type { QueryResolvers } from '../../generated/graphql.ts';
import { encodeCursor } from '../../services/auth/audit.ts';

/** Query.auditLog — admins after the second step; see schema/auth.graphql. */
export const auditLog: QueryResolvers['auditLog'] = async (_parent, { first, after }, { services, caller }) => {
  const page = await services.auth.auditLog(caller, first ?? 50, after ?? null);
  return {
    edges: page.records.map((r) => ({
      cursor: encodeCursor(r.id),
      node: { ...r, id: String(r.id), detail: JSON.stringify(r.detail) },
    })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
  };
};
