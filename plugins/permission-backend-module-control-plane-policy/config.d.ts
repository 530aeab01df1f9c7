export interface Config {
  controlPlane?: {
    /** Who may do what in the control plane (read by the permission policy module). */
    permissions?: {
      /**
       * Catalog entity refs (groups, or users) holding each role. A user holds the most
       * privileged role any of their ownership refs (themselves and their groups) is listed in.
       */
      roles?: {
        /**
         * Everything, including products, tiers, quotas and policies.
         * @defaultValue []
         */
        admin?: string[];
        /**
         * Every resource, clusters, providers, flags, experiments and the audit log.
         * @defaultValue []
         */
        platformEngineer?: string[];
        /**
         * The resources their groups own. `*` means every signed-in user.
         * @defaultValue ['*']
         */
        developer?: string[];
      };
    };
  };
}
