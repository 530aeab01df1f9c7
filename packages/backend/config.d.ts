export interface Config {
  /** The example instance's local repositories, which `publish:local` writes. */
  localRepositories?: {
    /**
     * The folder holding them, relative to the backend's working directory.
     * @defaultValue ../../data/repositories
     */
    directory?: string;
  };
}
