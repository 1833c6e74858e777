"""``dockyard build``: Dockerfiles without a container (no ``RUN``), reproducibly.

One module per job: :mod:`.dockerfile` (parser), :mod:`.shell` (variable substitution),
:mod:`.ignore` (``.dockerignore``), :mod:`.context` (the build context and source globs),
:mod:`.tree` and :mod:`.tarfs` (filesystems of stages and images), :mod:`.copying` (``COPY`` and
``ADD``), :mod:`.users` (``--chown``), :mod:`.layers` (deterministic layer blobs),
:mod:`.image` (the config), :mod:`.bases` (base images), :mod:`.stage` (instructions),
:mod:`.output` (writing the image) and :mod:`.builder` (the whole build).
"""

from dockyard.client.build.builder import BuildOptions, BuildResult, build_image

__all__ = ["BuildOptions", "BuildResult", "build_image"]
