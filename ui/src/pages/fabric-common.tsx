// What the fabric's views share: the loaded fabric, the topology picture, performance marks.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Spinner } from '../components/ui';
import { buildModel, type Layout, type TopologyModel } from '../topology/model';
import { layoutModel } from '../topology/layout';
import { Topology } from '../topology/view';
import type { Device, Fabric, Link, ServerSpec } from '../types';

export interface FabricData {
  fabric: Fabric;
  devices: Device[];
  links: Link[];
  servers: ServerSpec[];
  /** links and servers loaded (they come after the devices) */
  wired: boolean;
  reload(): void;
}

const marked = new Set<string>();
/** Performance marks the UI benchmark reads (bench/ui.ts): once per page load. */
export function markOnce(name: string): void {
  if (marked.has(name)) return;
  marked.add(name);
  performance.mark(name);
}

/** The picture for a fabric's devices and links (the topology tab and the onboarding view). */
export function TopologyPicture({ data, selected, onOpen, query, drifted }: { data: FabricData; selected?: string; onOpen(d: string): void; query: string; drifted?: Set<string> }) {
  if (data.wired) markOnce('ui:fabric-data');
  const model: TopologyModel = useMemo(() => buildModel(data.devices, data.links, data.servers, { drifted }), [data.devices, data.links, data.servers, drifted]);
  if (data.wired) markOnce('ui:topology-model');
  const [layout, setLayout] = useState<Layout & { engine: string }>();
  useEffect(() => {
    if (!data.wired) return;
    let live = true;
    void layoutModel(model).then((l) => { markOnce('ui:topology-layout'); if (live) setLayout(l); });
    return () => { live = false; };
  }, [model, data.wired]);
  if (!layout || !data.wired) return <div class="topology placeholder"><Spinner label={data.wired ? 'Laying out the topology' : 'Loading the links'} /></div>;
  return (
    <>
      <Topology model={model} layout={layout} label={`Topology of ${data.fabric.name}`} selected={selected} query={query} onOpen={onOpen}
        onRendered={() => markOnce('ui:topology-rendered')} />
      <div class="topo-foot muted small">
        {model.grouped && <span>{data.devices.filter((x) => x.physicalRole === 'leaf').length.toLocaleString()} leaves grouped per pod (leaves uplinked to the same spines). </span>}
        {model.hiddenServers > 0 && <span>{model.hiddenServers} servers not drawn (see Services). </span>}
        <span>Layout: {layout.engine === 'elk' ? 'ELK layered' : layout.engine === 'pods' ? 'pods' : 'rows'}. Drag to pan, wheel or +/− to zoom, 0 to fit.</span>
      </div>
    </>
  );
}

