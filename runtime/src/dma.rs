//! Direct-mapped DMA: bus addresses equal physical addresses, limited by
//! the device's DMA mask.
//!
//! The pfn series maps I/O for DMA straight from a `pfn_t`
//! (`dma_map_pfn`), so page-less memory can be a DMA source or target. A
//! direct-mapped device without an IOMMU or swiotlb can only reach what its
//! mask covers; anything beyond is a mapping error the driver must handle.
//! Live mappings are tracked as `CONFIG_DMA_API_DEBUG` does, so unmapping
//! something never mapped is reported.

use thiserror::Error;

use crate::memory::{DeviceId, MemError, World};
use crate::pfn_t::{pfn_t_to_phys, PfnT};
use crate::scatterlist::{sg_pfn_t, SgError, SgTable};
use crate::severity::{Misuse, Severity};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// The address `dma_map_*` returns on failure in the C ABI.
pub const DMA_MAPPING_ERROR: u64 = u64::MAX;

/// Direction of a DMA transfer (`enum dma_data_direction`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DmaDataDirection {
    /// Both ways.
    Bidirectional = 0,
    /// Memory to device.
    ToDevice = 1,
    /// Device to memory.
    FromDevice = 2,
    /// No transfer; invalid for a mapping.
    None = 3,
}

impl DmaDataDirection {
    /// Decodes the C value.
    pub fn from_c(value: i32) -> Option<DmaDataDirection> {
        Some(match value {
            0 => DmaDataDirection::Bidirectional,
            1 => DmaDataDirection::ToDevice,
            2 => DmaDataDirection::FromDevice,
            3 => DmaDataDirection::None,
            _ => return None,
        })
    }
}

/// A live DMA mapping, as dma-debug records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaMapping {
    /// Bytes mapped.
    pub size: u64,
    /// Direction it was mapped for.
    pub dir: DmaDataDirection,
}

/// Errors of DMA mapping.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DmaError {
    /// The memory or device is unusable.
    #[error(transparent)]
    Memory(#[from] MemError),
    /// The scatterlist is malformed.
    #[error(transparent)]
    Sg(#[from] SgError),
    /// The buffer lies beyond what the device can address.
    #[error("dma address {addr:#x}+{size:#x} is beyond the mask {mask:#x} of device '{device}'")]
    BeyondMask {
        /// Bus address of the buffer.
        addr: u64,
        /// Its size.
        size: u64,
        /// The device's mask.
        mask: u64,
        /// The device.
        device: String,
    },
    /// `DMA_NONE` or an unknown direction.
    #[error("invalid dma direction {0:?}")]
    Direction(DmaDataDirection),
    /// A mapping of zero bytes.
    #[error("dma mapping of zero bytes")]
    Empty,
    /// The device is not bound to a driver.
    #[error("device '{0}' is not bound")]
    Unbound(String),
    /// Unmap of an address that is not mapped for this device.
    #[error("unmap of {addr:#x} on device '{device}', which has no such mapping")]
    NotMapped {
        /// The address.
        addr: u64,
        /// The device.
        device: String,
    },
    /// Unmap with another size or direction than the map.
    #[error("unmap of {addr:#x} with size {size:#x} {dir:?}, mapped as size {mapped_size:#x} {mapped_dir:?}")]
    UnmapMismatch {
        /// The address.
        addr: u64,
        /// Size given to unmap.
        size: u64,
        /// Direction given to unmap.
        dir: DmaDataDirection,
        /// Size it was mapped with.
        mapped_size: u64,
        /// Direction it was mapped with.
        mapped_dir: DmaDataDirection,
    },
}

impl Misuse for DmaError {
    fn severity(&self) -> Severity {
        match self {
            DmaError::Memory(err) => err.severity(),
            DmaError::Sg(err) => err.severity(),
            DmaError::BeyondMask { .. } => Severity::Fail,
            DmaError::NotMapped { .. } | DmaError::UnmapMismatch { .. } | DmaError::Empty => {
                Severity::Warn
            }
            DmaError::Direction(_) | DmaError::Unbound(_) => Severity::Bug,
        }
    }
}

/// Maps `size` bytes at `offset` into the frame of `pfn` for DMA by
/// `device`, returning the bus address.
///
/// The memory must exist; it need not be mapped into the kernel, which is
/// the point of mapping a pfn. A buffer beyond the device's mask is
/// [`DmaError::BeyondMask`].
pub fn dma_map_pfn(
    world: &mut World,
    device: DeviceId,
    pfn: PfnT,
    offset: u64,
    size: u64,
    dir: DmaDataDirection,
) -> Result<u64, DmaError> {
    let mask = check_device(world, device, dir)?;
    if size == 0 {
        return Err(DmaError::Empty);
    }
    // The extent check works in u32 lengths; a longer buffer is checked
    // frame range by frame range.
    let beyond_pfn_space = MemError::NoMemory { pfn: u64::MAX };
    let mut checked = 0u64;
    while checked < size {
        let chunk = (size - checked).min(1 << 30);
        let at = offset
            .checked_add(checked)
            .ok_or(beyond_pfn_space.clone())?;
        let start = pfn.nth(at >> PAGE_SHIFT).ok_or(beyond_pfn_space.clone())?;
        world.check_extent(start, (at % u64::from(PAGE_SIZE)) as u32, chunk as u32)?;
        checked += chunk;
    }
    // The extent check proved every byte lies in memory below the
    // physical address limit, so this cannot overflow.
    let addr = pfn_t_to_phys(pfn) + offset;
    let beyond = addr.checked_add(size - 1).is_none_or(|last| last > mask);
    if beyond {
        return Err(DmaError::BeyondMask {
            addr,
            size,
            mask,
            device: world.device_name(device)?.to_owned(),
        });
    }
    world
        .dma_maps
        .insert((device, addr), DmaMapping { size, dir });
    Ok(addr)
}

/// Releases a mapping made by [`dma_map_pfn`], checking it as dma-debug
/// does. The mapping is gone afterwards whatever the result.
pub fn dma_unmap_pfn(
    world: &mut World,
    device: DeviceId,
    addr: u64,
    size: u64,
    dir: DmaDataDirection,
) -> Result<(), DmaError> {
    world.dma_mask(device)?;
    let Some(mapped) = world.dma_maps.remove(&(device, addr)) else {
        return Err(DmaError::NotMapped {
            addr,
            device: world.device_name(device)?.to_owned(),
        });
    };
    if mapped.size != size || mapped.dir != dir {
        return Err(DmaError::UnmapMismatch {
            addr,
            size,
            dir,
            mapped_size: mapped.size,
            mapped_dir: mapped.dir,
        });
    }
    Ok(())
}

/// Number of live DMA mappings of a device.
pub fn dma_live_mappings(world: &World, device: DeviceId) -> usize {
    world
        .dma_maps
        .keys()
        .filter(|(dev, _)| *dev == device)
        .count()
}

/// `dma_map_sg`: maps every entry of `table` up to its end mark, filling
/// in `dma_address` and `dma_length`, and returns how many were mapped.
/// If any entry fails, those already mapped are unmapped again.
pub fn dma_map_sg(
    world: &mut World,
    device: DeviceId,
    table: &mut SgTable,
    dir: DmaDataDirection,
) -> Result<usize, DmaError> {
    let positions = table.positions()?;
    for (done, &pos) in positions.iter().enumerate() {
        let sg = *table.get(pos)?;
        let mapped = dma_map_pfn(
            world,
            device,
            sg_pfn_t(&sg),
            u64::from(sg.offset),
            u64::from(sg.length),
            dir,
        );
        match mapped {
            Ok(addr) => {
                let sg = table.get_mut(pos)?;
                sg.dma_address = addr;
                sg.dma_length = sg.length;
            }
            Err(err) => {
                for &undo in &positions[..done] {
                    let Ok(&sg) = table.get(undo) else {
                        continue;
                    };
                    // These were mapped just above with these very
                    // arguments, so the unmap cannot disagree with them.
                    let _ =
                        dma_unmap_pfn(world, device, sg.dma_address, u64::from(sg.dma_length), dir);
                }
                return Err(err);
            }
        }
    }
    Ok(positions.len())
}

/// `dma_unmap_sg`: releases what [`dma_map_sg`] mapped, reporting the first
/// entry dma-debug would complain about (all are released regardless).
pub fn dma_unmap_sg(
    world: &mut World,
    device: DeviceId,
    table: &SgTable,
    dir: DmaDataDirection,
) -> Result<(), DmaError> {
    let mut first_err = None;
    for pos in table.positions()? {
        let sg = table.get(pos)?;
        if let Err(err) =
            dma_unmap_pfn(world, device, sg.dma_address, u64::from(sg.dma_length), dir)
        {
            first_err.get_or_insert(err);
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn check_device(world: &World, device: DeviceId, dir: DmaDataDirection) -> Result<u64, DmaError> {
    let mask = world.dma_mask(device)?;
    if !world.is_bound(device)? {
        return Err(DmaError::Unbound(world.device_name(device)?.to_owned()));
    }
    if dir == DmaDataDirection::None {
        return Err(DmaError::Direction(dir));
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::DevMemmap;

    const GIB: u64 = 1 << 30;

    #[test]
    fn address_beyond_mask_is_an_error() {
        let mut world = World::new();
        world.add_dram(0, 1 << 20).unwrap();
        let pmem = world
            .add_pmem("pmem0", 8 * GIB, GIB, DevMemmap::None)
            .unwrap();
        let dev32 = world.add_dma_device("ahci", (1 << 32) - 1);
        let dev64 = world.add_dma_device("nvme", u64::MAX);
        let pfn = world.device_pfn_t(pmem, 0).unwrap();

        let err =
            dma_map_pfn(&mut world, dev32, pfn, 0, 4096, DmaDataDirection::ToDevice).unwrap_err();
        assert!(
            matches!(err, DmaError::BeyondMask { addr, .. } if addr == 8 * GIB),
            "{err}"
        );
        assert_eq!(err.severity(), Severity::Fail);
        assert_eq!(dma_live_mappings(&world, dev32), 0);

        let addr = dma_map_pfn(
            &mut world,
            dev64,
            pfn,
            512,
            1024,
            DmaDataDirection::ToDevice,
        )
        .unwrap();
        assert_eq!(addr, 8 * GIB + 512);
        assert_eq!(dma_live_mappings(&world, dev64), 1);
        dma_unmap_pfn(&mut world, dev64, addr, 1024, DmaDataDirection::ToDevice).unwrap();
        let err =
            dma_unmap_pfn(&mut world, dev64, addr, 1024, DmaDataDirection::ToDevice).unwrap_err();
        assert!(matches!(err, DmaError::NotMapped { .. }));
        assert_eq!(err.severity(), Severity::Warn);
    }

    #[test]
    fn buffer_straddling_the_mask_is_refused() {
        let mut world = World::new();
        world.add_dram(0, 8 << 20).unwrap();
        let dev = world.add_dma_device("isa", (4 << 20) - 1);
        let below = crate::pfn_t::pfn_to_pfn_t(1023).unwrap();
        assert!(dma_map_pfn(
            &mut world,
            dev,
            below,
            0,
            4096,
            DmaDataDirection::FromDevice
        )
        .is_ok());
        let err = dma_map_pfn(
            &mut world,
            dev,
            below,
            0,
            4097,
            DmaDataDirection::FromDevice,
        )
        .unwrap_err();
        assert!(matches!(err, DmaError::BeyondMask { .. }), "{err}");
    }

    #[test]
    fn map_sg_maps_page_less_entries_and_unwinds_on_failure() {
        use crate::scatterlist::{sg_alloc_table, sg_set_pfn};
        let mut world = World::new();
        world.add_dram(0, 1 << 20).unwrap();
        let pmem = world
            .add_pmem("pmem0", 8 * GIB, GIB, DevMemmap::None)
            .unwrap();
        let dev = world.add_dma_device("nvme", (1 << 33) + 8191);
        let mut table = sg_alloc_table(3).unwrap();
        let pos = table.positions().unwrap();
        sg_set_pfn(
            table.get_mut(pos[0]).unwrap(),
            crate::pfn_t::pfn_to_pfn_t(1).unwrap(),
            4096,
            0,
        )
        .unwrap();
        sg_set_pfn(
            table.get_mut(pos[1]).unwrap(),
            world.device_pfn_t(pmem, 0).unwrap(),
            4096,
            0,
        )
        .unwrap();
        sg_set_pfn(
            table.get_mut(pos[2]).unwrap(),
            world.device_pfn_t(pmem, 1).unwrap(),
            100,
            8,
        )
        .unwrap();
        let n = dma_map_sg(&mut world, dev, &mut table, DmaDataDirection::ToDevice).unwrap();
        assert_eq!(n, 3);
        assert_eq!(table.get(pos[1]).unwrap().dma_address, 8 * GIB);
        assert_eq!(table.get(pos[2]).unwrap().dma_address, 8 * GIB + 4096 + 8);
        assert_eq!(dma_live_mappings(&world, dev), 3);
        dma_unmap_sg(&mut world, dev, &table, DmaDataDirection::ToDevice).unwrap();
        assert_eq!(dma_live_mappings(&world, dev), 0);

        sg_set_pfn(
            table.get_mut(pos[2]).unwrap(),
            world.device_pfn_t(pmem, 2).unwrap(),
            100,
            8,
        )
        .unwrap();
        let err = dma_map_sg(&mut world, dev, &mut table, DmaDataDirection::ToDevice).unwrap_err();
        assert!(matches!(err, DmaError::BeyondMask { .. }), "{err}");
        assert_eq!(dma_live_mappings(&world, dev), 0);
    }

    #[test]
    fn misuse_is_classified() {
        let mut world = World::new();
        world.add_dram(0, 1 << 20).unwrap();
        let dev = world.add_dma_device("nvme", u64::MAX);
        let pfn = crate::pfn_t::pfn_to_pfn_t(1).unwrap();
        let none = dma_map_pfn(&mut world, dev, pfn, 0, 1, DmaDataDirection::None).unwrap_err();
        assert_eq!(none.severity(), Severity::Bug);
        let hole = crate::pfn_t::pfn_to_pfn_t(1 << 20).unwrap();
        let err = dma_map_pfn(&mut world, dev, hole, 0, 1, DmaDataDirection::ToDevice).unwrap_err();
        assert!(
            matches!(err, DmaError::Memory(MemError::NoMemory { .. })),
            "{err}"
        );
        world.unbind(dev).unwrap();
        let err = dma_map_pfn(&mut world, dev, pfn, 0, 1, DmaDataDirection::ToDevice).unwrap_err();
        assert!(matches!(err, DmaError::Unbound(_)));
    }
}
