import type { QueryResolvers } from '../../generated/graphql.ts';

/** Query.auditLog — admins after the second step; see schema/auth.graphql. */
export const auditLog: QueryResolvers['auditLog'] = async (_parent, { first, after }, { services }) => {
  const page = await services.auth.auditLog(first ?? 50, after ?? null);
  return {
    edges: page.records.map((r) => ({
      cursor: Buffer.from(`audit:${r.id}`).toString('base64url'),
      node: { ...r, id: String(r.id), detail: JSON.stringify(r.detail) },
    })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
  };
};
