"""The label catalog in the original's terms: top-level labels, "has" sublabels (the site's
parts), metalabels (scene labels), refinements, and the accessor strings the query language
matches (`dog`, `dog.has='mouth'`, `car.colour='red'`). Built once per catalog version."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasets.query.compiler import catalog_version
from labels_app.models import Label, LabelKind

from .wire import wire_id


@dataclass
class V1Catalog:
    labels: dict[str, Label] = field(default_factory=dict)  # active object labels by name
    metalabels: dict[str, Label] = field(default_factory=dict)
    refinements: dict[str, Label] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)
    # refinement kinds that apply to each object label (catalog `applies_to`)
    refined_by: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def current(cls) -> V1Catalog:
        global _loaded
        version = catalog_version()
        if _loaded is not None and _loaded[0] == version:
            return _loaded[1]
        catalog = cls.load()
        _loaded = (version, catalog)
        return catalog

    @classmethod
    def load(cls) -> V1Catalog:
        catalog = cls()
        everything = {label.pk: label for label in Label.objects.active()}
        for label in everything.values():
            if label.kind == LabelKind.OBJECT:
                catalog.labels[label.name] = label
            elif label.kind == LabelKind.SCENE:
                catalog.metalabels[label.name] = label
            else:
                catalog.refinements[label.name] = label
        for owner, part in Label.parts.through.objects.values_list("from_label_id", "to_label_id"):
            if owner in everything and part in everything:
                catalog.parts.setdefault(everything[owner].name, []).append(everything[part].name)
        for label in catalog.labels.values():
            targets, ancestor = {"*", label.group}, label
            while ancestor is not None and ancestor.name not in targets:
                targets.add(ancestor.name)
                ancestor = everything.get(ancestor.parent_id)
            catalog.refined_by[label.name] = sorted(
                name for name, kind in catalog.refinements.items() if targets & set(kind.applies_to)
            )
        for names in catalog.parts.values():
            names.sort()
        return catalog

    def accessors_of(self, name: str) -> list[str]:
        """Every accessor of one label: itself, its parts, its refinement values."""
        found = [name]
        found += [f"{name}.has='{part}'" for part in self.parts.get(name, ())]
        for kind in self.refined_by.get(name, ()):
            found += [f"{name}.{kind}='{value}'" for value in self.refinements[kind].values]
        return found

    def all_accessors(self) -> list[dict]:
        """[{accessor, parent_accessor, type}] for /v1/label/accessors."""
        rows = []
        for name in sorted(self.labels):
            rows.append({"accessor": name, "parent_accessor": None, "type": "normal"})
            rows += [
                {"accessor": accessor, "parent_accessor": name, "type": "normal"}
                for accessor in self.accessors_of(name)[1:]
            ]
        rows += [
            {"accessor": name, "parent_accessor": None, "type": "normal"}
            for name in sorted(self.metalabels)
        ]
        for name in sorted(self.refinements):
            rows.append({"accessor": name, "parent_accessor": None, "type": "refinement_category"})
            rows += [
                {"accessor": value, "parent_accessor": name, "type": "refinement"}
                for value in self.refinements[name].values
            ]
        return rows

    def detailed(self, label: Label, *, with_parts: bool = True) -> dict:
        entry = {
            "description": label.description,
            "uuid": wire_id("label", label.pk),
            "accessors": ["."]
            + [accessor[len(label.name) :] for accessor in self.accessors_of(label.name)[1:]],
            "plural": label.plural,
        }
        parts = self.parts.get(label.name, ())
        if with_parts and parts:
            entry["has"] = {
                part: self.detailed(
                    self.labels.get(part) or self.metalabels[part], with_parts=False
                )
                for part in parts
                if part in self.labels or part in self.metalabels
            }
        return entry

    def label_by_wire_id(self, pk: int) -> Label | None:
        for group in (self.labels, self.metalabels, self.refinements):
            for label in group.values():
                if label.pk == pk:
                    return label
        return None


# (version, catalog) of the last load in this process.
_loaded: tuple[tuple, V1Catalog] | None = None
