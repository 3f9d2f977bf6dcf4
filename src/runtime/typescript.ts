// TypeScript scripts run directly: tsx's loader is registered in a thread before it imports
// a .ts/.mts/.cts module (loader hooks are per thread on Node 20).

const isTypeScript = (moduleUrl: string): boolean => /\.(m|c)?tsx?($|\?)/.test(moduleUrl)

export async function loadTypeScriptSupport (moduleUrl: string): Promise<void> {
  if (!isTypeScript(moduleUrl)) return
  const { register } = await import('tsx/esm/api')
  register()
}
