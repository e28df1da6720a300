"""AI result objects for tests, built with highdicom over a shared CT study: a triage SR (TID 1500 qualitative
evaluation, or a vendor's plain container with a Finding and a Presence), a SEG over a few slices, a broken SR."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

CT_STUDY = "ct/philips_phantom_study2_tilted"
SCT_ICH = ("274100004", "SCT", "Cerebral hemorrhage")
SCT_PE = ("59282003", "SCT", "Pulmonary embolism")


def ct_slices(shared_data: Path, count: int | None = None) -> list:
    """The CT study's image datasets (with pixels), sorted by instance number."""
    import pydicom

    files = [p for p in sorted((shared_data / CT_STUDY).iterdir()) if p.name != "DIRFILE"]
    out = [pydicom.dcmread(p) for p in files]
    out = sorted((d for d in out if "PixelData" in d), key=lambda d: int(d.InstanceNumber))
    return out[:count] if count else out


def _device():  # type: ignore[no-untyped-def]
    import highdicom as hd

    return hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="BleedFinder", manufacturer_name="Acme AI",
                                                   model_name="BleedFinder 2")


def triage_sr(sources: Sequence, code: tuple[str, str, str] = SCT_ICH, *, series_number: int = 901):  # type: ignore[no-untyped-def]
    """A TID 1500 measurement report whose image measurement group holds the qualitative evaluation
    Finding = ``code`` (IHE AIR style), referencing ``sources``."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    ref = sources[len(sources) // 2]
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="triage"),
        referenced_real_world_value_map=None,
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(ref)],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(
            codes.DCM.Finding, hd.sr.CodedConcept(*code))])
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=_device()))
    report = hd.sr.MeasurementReport(observation_context=context,
                                     procedure_reported=hd.sr.CodedConcept("25045-6", "LN", "CT of head"),
                                     imaging_measurements=[group])
    return hd.sr.Comprehensive3DSR(evidence=[ref], content=report[0], series_instance_uid=hd.UID(),
                                   series_number=series_number, sop_instance_uid=hd.UID(), instance_number=1,
                                   manufacturer="Acme AI", series_description="AI triage")


def vendor_sr(sources: Sequence, meaning: str = "Large vessel occlusion", presence: str = "Suspected"):  # type: ignore[no-untyped-def]
    """A vendor's simpler variant: a container with a Finding CODE item (code unknown to us, the meaning
    says it) and a Presence CODE item, no template."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    finding = hd.sr.CodeContentItem(codes.DCM.Finding, hd.sr.CodedConcept("LVO-1", "99ACME", meaning),
                                    relationship_type="CONTAINS")
    finding.ContentSequence = [hd.sr.CodeContentItem(
        hd.sr.CodedConcept("PRESENCE", "99ACME", "Presence"), hd.sr.CodedConcept(presence.upper(), "99ACME", presence),
        relationship_type="HAS PROPERTIES")]
    root = hd.sr.ContainerContentItem(hd.sr.CodedConcept("TRIAGE", "99ACME", "AI triage result"),
                                      template_id=None)
    root.ContentSequence = [finding]
    return hd.sr.EnhancedSR(evidence=[sources[0]], content=root, series_instance_uid=hd.UID(), series_number=902,
                            sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Acme AI",
                            series_description="AI triage (vendor)")


def ai_seg(sources: Sequence, first: int, last: int):  # type: ignore[no-untyped-def]
    """A binary SEG (one "Hemorrhage" segment in the brain) over ``sources``, a disc on slices first..last only."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    rows, cols = int(sources[0].Rows), int(sources[0].Columns)
    yy, xx = np.mgrid[:rows, :cols]
    disc = (yy - rows // 2) ** 2 + (xx - cols // 2) ** 2 < (rows // 6) ** 2
    mask = np.zeros((len(sources), rows, cols), bool)
    mask[first:last + 1] = disc
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="hemorrhage",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=hd.sr.CodedConcept("50960005", "SCT", "Hemorrhage"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            name="BleedFinder", version="2", family=codes.DCM.ArtificialIntelligence),
        anatomic_regions=[codes.SCT.Brain])
    return hd.seg.Segmentation(source_images=list(sources), pixel_array=mask,
                               segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
                               segment_descriptions=[segment], series_instance_uid=hd.UID(), series_number=903,
                               sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Acme AI",
                               manufacturer_model_name="BleedFinder 2", software_versions="2.0",
                               device_serial_number="1", omit_empty_frames=True)


def broken_sr(sources: Sequence):  # type: ignore[no-untyped-def]
    """An AI SR whose content tree is damaged: its Finding CODE item lost its value (Concept Code Sequence)."""
    ds = triage_sr(sources, series_number=904)
    group = ds.ContentSequence[-1].ContentSequence[0]
    finding = next(i for i in group.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121071")
    del finding.ConceptCodeSequence
    return ds


def save(ds, folder: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    ds.save_as(path, enforce_file_format=True)
    return path
