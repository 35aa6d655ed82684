import t from 'tap'
import { AppError } from '../../src/errors.js'
import { bearerToken, recordableLocation, resolveOnOrigin } from '../../src/upstream/configured-origin.js'

const codeOf = (fn: () => unknown): string | null => {
  try {
    fn()
    return null
  } catch (err) {
    return err instanceof AppError ? err.code : String(err)
  }
}

const turvo = { name: 'turvo', baseUrl: 'https://publicapi.turvo.com/v1' }

t.test('paths resolve under the base path, with or without a leading slash', async (t) => {
  t.equal(resolveOnOrigin(turvo, '/shipments/list?start=0').href, 'https://publicapi.turvo.com/v1/shipments/list?start=0')
  t.equal(resolveOnOrigin(turvo, 'shipments/42').href, 'https://publicapi.turvo.com/v1/shipments/42')
  t.equal(resolveOnOrigin(turvo, '/@evil.example/x').origin, 'https://publicapi.turvo.com', 'an @ in a path is only a path')
  t.equal(resolveOnOrigin(turvo, 'https://user:pw@publicapi.turvo.com/v1/x#frag').href, 'https://publicapi.turvo.com/v1/x', 'user info and fragment dropped')
})

t.test('anything that leaves the origin is SourceNotAllowed', async (t) => {
  for (const location of [
    'https://evil.example/v1/shipments',
    'https://publicapi.turvo.com@evil.example/v1',
    '//evil.example/v1',
    '\\\\evil.example/v1',
    'http://publicapi.turvo.com/v1/x',
    'https://publicapi.turvo.com:8443/v1/x',
    'javascript:alert(1)',
    'file:///etc/passwd'
  ]) {
    t.equal(codeOf(() => resolveOnOrigin(turvo, location)), 'SourceNotAllowed', location)
  }
})

t.test('recorded locations carry no credentials', async (t) => {
  const url = new URL('https://u:p@api.samsara.com/fleet?types=gps&access_token=a&apiKey=b&after=c')
  t.equal(recordableLocation(url), 'https://api.samsara.com/fleet?types=gps&after=c')
})

t.test('the bearer comes from the request, else the config, else MissingAuthentication', async (t) => {
  t.equal(bearerToken(turvo, 'from-request', 'configured'), 'from-request')
  t.equal(bearerToken(turvo, undefined, 'configured'), 'configured')
  t.equal(codeOf(() => bearerToken(turvo, undefined, '')), 'MissingAuthentication')
})
