import { describe, expect, it } from 'vitest';
import { decodeClixml, decodeClixmlEscapes } from './clixml';
import { childOf, decodeEntities, escapeXml, findFirst, parseXml, XmlError } from './xml';

describe('parseXml', () => {
  it('reads elements by local name, attributes, text with the predefined and numeric entities', () => {
    const root = parseXml(
      '<?xml version="1.0"?><s:Envelope xmlns:s="u"><s:Body a:x="1 &amp; 2"><t>&lt;&gt;&quot;&apos;&#65;&#x1F600;</t><![CDATA[<raw>]]><!-- c --></s:Body></s:Envelope>',
    );
    expect(root.name).toBe('Envelope');
    const body = childOf(root, 'Body')!;
    expect(body.attributes).toEqual({ x: '1 & 2' });
    expect(childOf(body, 't')!.text).toBe('<>"\'A😀');
    expect(body.text).toBe('<raw>');
    expect(findFirst(root, 't')!.name).toBe('t');
  });

  it('one element and empty element cases', () => {
    expect(parseXml('<a/>')).toEqual({ name: 'a', prefix: '', attributes: {}, children: [], text: '' });
    expect(parseXml('<a></a>').children).toEqual([]);
    expect(parseXml('<a><b/></a>').children).toHaveLength(1);
  });

  it.each([
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE/],
    ['<a>&x;</a>', /unknown entity/],
    ['<a>&#xD800;</a>', /bad character reference/],
    ['<a><b></a>', /closes/],
    ['<a>', /never closed/],
    ['<a/><b/>', /content after the root/],
    ['text', /text outside the root/],
    ['<a b=1/>', /not quoted/],
    ['<a b="<"/>', /inside an attribute/],
    ['', /no root/],
  ])('refuses %s', (text, message) => {
    expect(() => parseXml(text)).toThrow(XmlError);
    expect(() => parseXml(text)).toThrow(message);
  });

  it('caps size, depth and element count', () => {
    expect(() => parseXml(`<a>${'x'.repeat(100)}</a>`, { maxChars: 50 })).toThrow(/larger than 50/);
    expect(() => parseXml(`${'<a>'.repeat(10)}${'</a>'.repeat(10)}`, { maxDepth: 5 })).toThrow(
      /deeper than 5/,
    );
    expect(() => parseXml(`<a>${'<b/>'.repeat(10)}</a>`, { maxElements: 5 })).toThrow(/more than 5 elements/);
  });

  it('escapes the five characters and decodes them back', () => {
    const raw = `a&b<c>d"e'f`;
    expect(escapeXml(raw)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    expect(decodeEntities(escapeXml(raw))).toBe(raw);
  });
});

describe('CLIXML', () => {
  it('decodes the error stream to the text a console shows, with warnings marked and progress dropped', () => {
    const text =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">' +
      '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN><MS><I64 N="SourceId">1</I64></MS></Obj>' +
      '<S S="Error">Oops &amp; more_x000D__x000A_</S><S S="Warning">careful_x000A_</S><S S="Error">second line_x000D__x000A_</S></Objs>';
    expect(decodeClixml(text)).toBe('Oops & more\r\nWARNING: careful\nsecond line');
  });

  it('joins surrogate pairs and marks a lone half', () => {
    expect(decodeClixmlEscapes('smile _xD83D__xDE00_!')).toBe('smile 😀!');
    expect(decodeClixmlEscapes('cut _xD83D_')).toBe('cut \ufffd');
    expect(decodeClixmlEscapes('tab_x0009_x')).toBe('tab\tx');
  });

  it('leaves text that is not CLIXML alone, and keeps a cut-off document readable', () => {
    expect(decodeClixml('plain error\r\n')).toBe('plain error\r\n');
    expect(decodeClixml('#< CLIXML\r\n<Objs><S S="Error">half')).toBe('<Objs><S S="Error">half');
  });
});
