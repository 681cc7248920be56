// Exits 0 when a Docker engine answers (the K3s suite can run), else prints why and exits 1.
// testcontainers' own discovery, so the answer is the one the K3s suite would get.
try {
  const { getContainerRuntimeClient } = await import('testcontainers');
  await getContainerRuntimeClient();
} catch (err) {
  console.log(`no Docker engine (${(err as Error).message.split('\n')[0]})`);
  process.exit(1);
}
