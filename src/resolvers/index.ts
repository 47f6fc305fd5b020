/** The resolver map. One file per schema field under Query/, Mutation/ and type folders. */
import type { Resolvers } from '../generated/graphql.ts';
import { DateScalar } from './Date.ts';
import { DateTime } from './DateTime.ts';
import { EncryptedString } from './EncryptedString.ts';
import { key } from './Licence/key.ts';
import { cancelReport } from './Mutation/cancelReport.ts';
import { confirmTotp } from './Mutation/confirmTotp.ts';
import { createLicence } from './Mutation/createLicence.ts';
import { createUser } from './Mutation/createUser.ts';
import { deactivateLicence } from './Mutation/deactivateLicence.ts';
import { deleteLicence } from './Mutation/deleteLicence.ts';
import { enrollTotp } from './Mutation/enrollTotp.ts';
import { refreshSession } from './Mutation/refreshSession.ts';
import { regenerateRecoveryCodes } from './Mutation/regenerateRecoveryCodes.ts';
import { requestReport } from './Mutation/requestReport.ts';
import { resendSignInCode } from './Mutation/resendSignInCode.ts';
import { setEmailCodes } from './Mutation/setEmailCodes.ts';
import { signIn } from './Mutation/signIn.ts';
import { signOut } from './Mutation/signOut.ts';
import { signUp } from './Mutation/signUp.ts';
import { startStepUp } from './Mutation/startStepUp.ts';
import { updateLicence } from './Mutation/updateLicence.ts';
import { validateLicence } from './Mutation/validateLicence.ts';
import { verifySignIn } from './Mutation/verifySignIn.ts';
import { auditLog } from './Query/auditLog.ts';
import { health } from './Query/health.ts';
import { licence } from './Query/licence.ts';
import { licenceByKey } from './Query/licenceByKey.ts';
import { licences } from './Query/licences.ts';
import { licenceSummary } from './Query/licenceSummary.ts';
import { me } from './Query/me.ts';
import { report } from './Query/report.ts';
import { reports } from './Query/reports.ts';
import { systemSelfTest } from './Query/systemSelfTest.ts';
import { weeklyStatistics } from './Query/weeklyStatistics.ts';
import { recoveryCodesRemaining } from './User/recoveryCodesRemaining.ts';
import { secondFactorChannels } from './User/secondFactorChannels.ts';

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime,
  EncryptedString,
  Query: { health, me, auditLog, systemSelfTest, weeklyStatistics, licenceSummary, report, reports, licences, licence, licenceByKey },
  Mutation: {
    signIn,
    verifySignIn,
    resendSignInCode,
    startStepUp,
    refreshSession,
    signOut,
    signUp,
    createUser,
    enrollTotp,
    confirmTotp,
    regenerateRecoveryCodes,
    setEmailCodes,
    requestReport,
    cancelReport,
    createLicence,
    updateLicence,
    deactivateLicence,
    deleteLicence,
    validateLicence,
  },
  Licence: { key },
  User: { recoveryCodesRemaining, secondFactorChannels },
};
